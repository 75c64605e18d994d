"""One idea at a time on top of the default variant, measured on the validation split only.

    python bench/ideas.py [IDEA ...] [--variant deeper] [--profile default] [--epochs N] [--list]

Each idea changes one thing of the variant (``deeper`` unless ``--variant`` is given: the ideas
were measured on it, and ``larger_input``, notebook 04's last step, is what came of them) and trains
it from the same seed on the profile's training split; the table shows validation accuracy and
log loss (with the prediction command's test-time augmentation and clipping) and the training
time as a ratio to the unchanged variant's, trained first in the same run. This is the
experiment log behind notebook 04's choices: ideas are chosen here, on validation, never on the
evaluation set (``bench/accuracy.py`` only measures the chosen variant there).

Ideas (``--list`` prints them):

* ``reference``: the variant unchanged (always trained first; the time reference);
* ``bf16``: mixed precision, bfloat16 compute with float32 weights
  (``keras.mixed_precision``); only on a CPU with AVX512-BF16 or AMX, else reported as skipped;
* ``xla``: ``jit_compile=True`` (XLA compiles the training step);
* ``label_smoothing``: targets 0.05 / 0.95 instead of 0 / 1 (categorical cross-entropy, 0.1);
* ``mixup``: each training batch mixed with itself reversed, weights ~ Beta(0.2, 0.2);
* ``ema``: the weights are an exponential moving average of the last ~100 steps
  (Adam's ``use_ema``; Keras copies the average into the model when training ends);
* ``translate``: random shifts of up to 10% in both directions added to the augmentation;
* ``input_80``: 80x80 inputs instead of 64x64;
* ``epochs_x1.4``: a 40% longer cosine schedule;
* ``hires_stem``: twice the input side (128x128 for ``deeper``) with the first convolution at
  stride 2, so every layer after it sees the sizes it saw before: more pixels at about the same
  FLOPs (only the first convolution and the augmentation work on the larger image); it lowered
  ``deeper``'s log loss, but on ``larger_input`` (160x160) it took 1.45x the time for no gain (README);
* ``wide``: twice the filters in every convolution (4x the FLOPs). On a CPU with AMX, bfloat16
  convolutions this narrow leave the matrix units mostly idle (``bench/training.py``), so width
  looked almost free there; with ``--variant larger_input`` it took 2.11x the time (README).
* ``batch_128``: batches of 128 instead of 64 at the same learning rate: half the optimiser
  steps, each on a larger matrix, in the hope that a CPU computes it at a higher rate, to fit
  ``larger_input``'s 35 epochs (12.1x the baseline's time) into the 10x budget; it saved only
  4% of the time (README);
* ``input_72``: 72x72 inputs (for ``larger_input``, 0.81x its pixels), the other such way.

The ideas are measured apart, one change each; ``a+b`` (e.g. ``bf16+input_80``) trains a
combination as one more row.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass
class Idea:
    name: str
    what: str
    overrides: dict = field(default_factory=dict)  # Variant fields or builder options
    policy: str | None = None  # a keras.mixed_precision policy
    jit_compile: bool = False
    label_smoothing: float = 0.0
    mixup: float = 0.0  # Beta(a, a)
    ema: bool = False
    translate: float = 0.0
    epochs_factor: float = 1.0


IDEAS = {i.name: i for i in [
    Idea("reference", "the variant unchanged"),
    Idea("bf16", "bfloat16 mixed precision", policy="mixed_bfloat16"),
    Idea("xla", "jit_compile=True", jit_compile=True),
    Idea("label_smoothing", "label smoothing 0.1", label_smoothing=0.1),
    Idea("mixup", "mixup, Beta(0.2, 0.2)", mixup=0.2),
    Idea("ema", "EMA of the weights (momentum 0.99)", ema=True),
    Idea("translate", "random shifts up to 10%", translate=0.1),
    Idea("input_80", "80x80 inputs", overrides={"image_size": (80, 80)}),
    Idea("epochs_x1.4", "40% more epochs", epochs_factor=1.4),
    Idea("hires_stem", "2x the input side, first convolution at stride 2",
         overrides={"image_size": "double", "stem_stride": 2}),
    Idea("wide", "2x the filters in every block", overrides={"filters": "double"}),
    Idea("batch_128", "batches of 128 (half the steps per epoch), the same learning rate",
         overrides={"batch_size": 128}),
    Idea("input_72", "72x72 inputs", overrides={"image_size": (72, 72)}),
]}


def idea(name: str) -> Idea:
    """The idea ``name``, or the combination ``a+b`` of registered ideas (each contributes its one change)."""
    parts = [IDEAS[part] for part in name.split("+")]
    if len(parts) == 1:
        return parts[0]
    merged = Idea(name, " and ".join(p.what for p in parts))
    for part in parts:
        for key, value in vars(part).items():
            if key == "overrides":
                merged.overrides.update(value)
            elif key not in ("name", "what") and value != getattr(Idea("", ""), key):
                setattr(merged, key, value)
    return merged


def resolved_overrides(idea: Idea, variant) -> dict:
    """The idea's overrides for ``variant``: ``"double"`` is twice the variant's ``image_size`` or ``filters``."""
    overrides = dict(idea.overrides)
    if overrides.get("image_size") == "double":
        overrides["image_size"] = tuple(2 * side for side in variant.image_size)
    if overrides.get("filters") == "double":
        overrides["filters"] = tuple(2 * width for width in variant.options["filters"])
    return overrides


def mixup_batches(dataset, alpha: float, seed: int):
    """Batches of images mixed with the same batch reversed, and the matching soft one-hot labels.

    Each batch draws its weights from its own seed, taken from ``tf.data.Dataset.random``, which
    gives a new stream every epoch: no two batches share their weights, in one epoch or across them.
    """
    import tensorflow as tf

    def mix(batch_seed, pair):
        images, labels = pair
        batch = tf.shape(images)[0]
        key = tf.stack([tf.constant(seed, tf.int64), batch_seed])
        seeds = tf.random.experimental.stateless_split(key, 2)
        g1 = tf.random.stateless_gamma([batch], seed=seeds[0], alpha=alpha)
        g2 = tf.random.stateless_gamma([batch], seed=seeds[1], alpha=alpha)
        lam = g1 / (g1 + g2)
        onehot = tf.one_hot(labels, 2)
        images = tf.cast(images, tf.float32)
        mixed = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * tf.reverse(images, [0])
        return mixed, lam[:, None] * onehot + (1 - lam[:, None]) * tf.reverse(onehot, [0])

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip(seeds, dataset).map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def one_hot(dataset):
    import tensorflow as tf

    return dataset.map(lambda x, y: (x, tf.one_hot(y, 2)), num_parallel_calls=tf.data.AUTOTUNE)


def with_translation(model, fraction: float, seed: int):
    """``model`` behind a RandomTranslation layer (active only while training)."""
    import keras

    inputs = keras.Input(model.input_shape[1:], name="image")
    shifted = keras.layers.RandomTranslation(fraction, fraction, fill_mode="reflect", seed=seed, name="translate")(inputs)
    return keras.Model(inputs, model(shifted), name=model.name)


@dataclass
class Outcome:
    idea: str
    what: str
    epochs: str
    val_accuracy: float | None
    val_log_loss: float | None
    seconds: float | None
    note: str = ""


def train_idea(idea: Idea, variant_name: str, frame, profile, epochs: int | None) -> Outcome:
    import keras
    import numpy as np

    from utils import evaluate
    from utils.cli.submit import DEFAULT_CLIP
    from utils.fit.variants import learning_rate_schedule, variant_datasets
    from utils.models.cost import bf16_supported
    from utils.models.registry import build_model, get_variant
    from utils.predict import predict_dataset
    from utils.submission import clip_probabilities

    if idea.policy == "mixed_bfloat16" and not bf16_supported():
        return Outcome(idea.name, idea.what, "-", None, None, None, "skipped: this CPU has no AVX512-BF16 or AMX")
    overrides = resolved_overrides(idea, get_variant(variant_name))
    variant = get_variant(variant_name, **overrides)
    cap = profile.epochs(round((epochs or variant.epochs) * idea.epochs_factor))
    keras.utils.set_random_seed(profile.seed)
    keras.mixed_precision.set_global_policy(idea.policy or "float32")
    try:
        train_ds, val_ds = variant_datasets(frame, variant, seed=profile.seed)
        steps = math.ceil(int((frame["split"] == "train").sum()) / variant.batch_size)
        model = build_model(variant_name, compile=False, **overrides)
        if idea.translate:
            model = with_translation(model, idea.translate, profile.seed)
        soft = idea.label_smoothing or idea.mixup
        fit_train, fit_val = train_ds, val_ds
        if idea.mixup:
            fit_train, fit_val = mixup_batches(train_ds, idea.mixup, profile.seed), one_hot(val_ds)
        elif soft:
            fit_train, fit_val = one_hot(train_ds), one_hot(val_ds)
        loss = (keras.losses.CategoricalCrossentropy(label_smoothing=idea.label_smoothing) if soft
                else "sparse_categorical_crossentropy")
        optimizer = keras.optimizers.Adam(learning_rate_schedule(variant, steps, cap), use_ema=idea.ema,
                                          ema_momentum=0.99)
        model.compile(optimizer=optimizer, loss=loss, jit_compile=idea.jit_compile)
        stop = keras.callbacks.EarlyStopping(patience=variant.patience, restore_best_weights=variant.restore_best)
        start = time.perf_counter()
        history = model.fit(fit_train, validation_data=fit_val, epochs=cap, callbacks=[stop], verbose=0,
                            shuffle=False)  # the tf.data pipeline shuffles; Keras would only warn
        seconds = time.perf_counter() - start
        labels, p = predict_dataset(model, val_ds, tta=True, desc=idea.name)
        p = clip_probabilities(np.asarray(p, dtype="float64"), DEFAULT_CLIP)
        return Outcome(idea.name, idea.what, f"{len(history.epoch)} of {cap}", evaluate.accuracy(labels, p),
                       evaluate.log_loss(labels, p), seconds)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def markdown(outcomes: list[Outcome]) -> str:
    reference = outcomes[0].seconds
    lines = ["| idea | what changes | epochs | val accuracy | val log loss | time / reference's |",
             "|---|---|---:|---:|---:|---:|"]
    for o in outcomes:
        if o.seconds is None:
            lines.append(f"| `{o.idea}` | {o.what} | - | - | - | {o.note} |")
            continue
        lines.append(f"| `{o.idea}` | {o.what} | {o.epochs} | {o.val_accuracy:.4f} | {o.val_log_loss:.4f} | "
                     f"{o.seconds / reference:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ideas", nargs="*", help=f"ideas to try (default: all): {', '.join(IDEAS)}")
    parser.add_argument("--variant", default="deeper", help="the variant the ideas change (default: deeper)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the reference (default: the variant's)")
    parser.add_argument("--list", action="store_true", help="print the ideas and stop")
    args = parser.parse_args(argv)
    if args.list:
        for listed in IDEAS.values():
            print(f"{listed.name:16s} {listed.what}")
        return 0
    from utils.config import PROFILES, get_profile
    from utils.data.dataset import load_manifest
    from utils.models.cost import cpu_description
    from utils.models.registry import VARIANTS

    variant = args.variant
    problems = [f"unknown idea {n!r}. Choose from: {', '.join(IDEAS)} (or a+b to combine them)."
                for n in args.ideas if any(part not in IDEAS for part in n.split("+"))]
    problems += [f"unknown variant {variant!r}. Choose from: {', '.join(VARIANTS)}."] if variant not in VARIANTS else []
    problems += [f"unknown profile {args.profile!r}. Choose from: {', '.join(PROFILES)}."] if args.profile not in PROFILES else []
    if problems:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    profile = get_profile(args.profile)
    frame = load_manifest(profile)
    names = list(dict.fromkeys(["reference", *(args.ideas or IDEAS)]))
    started, load = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()[0]
    outcomes = []
    for name in names:
        print(f"== {name}: {idea(name).what}", flush=True)
        outcomes.append(train_idea(idea(name), variant, frame, profile, args.epochs))
        o = outcomes[-1]
        print(f"   {o.note or f'{o.epochs} epochs, val accuracy {o.val_accuracy:.4f}, log loss {o.val_log_loss:.4f}, {o.seconds:.0f} s'}",
              flush=True)
    print(f"\nIdeas on `{variant}`, profile {profile.name!r}, validation split "
          f"({int((frame['split'] == 'validation').sum())} images; TTA, clipped as the prediction command does).")
    print(f"Machine: {cpu_description()}; started {started}, finished "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average (1 min) {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end.\n")
    print(markdown(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
