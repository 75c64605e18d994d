"""One idea at a time on top of a variant (``deeper`` unless ``--variant``), measured on the validation split only.

    python bench/ideas.py [IDEA ...] [--variant deeper] [--profile default] [--epochs N] [--seed N]
                          [--test-sides SIDE ...] [--eval [PATH]] [--eval-limit N] [--train-images N] [--list]

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
* ``crop``: random resized crops in front of the augmentation: each training image is cut to a
  random box of 35-100% of its area, its sides in a ratio from 3:4 to 4:3, anywhere in the image,
  and stretched back to the input size (``RandomResizedCrop`` below; the crops of Inception and
  torchvision's ``RandomResizedCrop``, milder than their 8-100%, for an 80x80 input). Unlike
  ``translate`` it never fills a border with reflected pixels;
* ``input_80``: 80x80 inputs instead of 64x64;
* ``epochs_x1.4``: a 40% longer cosine schedule (early stopping can end it before it anneals);
* ``longer_cosine``: the same 40% longer schedule with early stopping off, so it always anneals
  to its end. ``deeper`` and ``larger_input`` keep their last epoch's weights anyway
  (``restore_best=False``); on a variant that restores its best epoch, turning early stopping
  off also keeps the last epoch's weights, a second change;
* ``hires_stem``: twice the input side (128x128 for ``deeper``) with the first convolution at
  stride 2, so every layer after it sees the sizes it saw before: more pixels at about the same
  FLOPs (only the first convolution and the augmentation work on the larger image); it lowered
  ``deeper``'s log loss, but on ``larger_input`` (160x160) it took 1.45x the time for no gain (bench/README.md);
* ``wide``: twice the filters in every convolution (4x the FLOPs). On a CPU with AMX, bfloat16
  convolutions this narrow leave the matrix units mostly idle (``bench/training.py``), so width
  looked almost free there; with ``--variant larger_input`` it took 2.11x the time (bench/README.md).
* ``batch_128``: batches of 128 instead of 64 at the same learning rate: half the optimiser
  steps, each on a larger matrix, in the hope that a CPU computes it at a higher rate, to fit
  ``larger_input``'s 35 epochs (12.1x the baseline's time) into the 10x budget; it saved only
  4% of the time (bench/README.md);
* ``input_72``: 72x72 inputs (for ``larger_input``, 0.81x its pixels), the other such way.
* ``residual``: a shortcut around every block of two convolutions, as in ResNet (He et al. 2016):
  the block's input is added to its second convolution's batch-normalised output before the
  last ReLU (through a 1x1 convolution and batch normalisation where the width changes). The
  same layers otherwise (the registry's ``build_gap_cnn(residual=True)``); a different kind of
  network, for the question whether the plain stack is what limits accuracy;
* ``swa``: stochastic weight averaging (Izmailov et al. 2018): the weights at the end of each
  epoch of the last 40% of the schedule are averaged and the model ends on that average, with
  batch normalisation's statistics recomputed for it on one pass over the training images
  (``weight_average_callback`` and ``recompute_batchnorm_statistics`` below). The variant's
  own cosine schedule is kept (the paper's constant or cyclic rate would be a second change),
  so the average is over weights the falling rate has already brought close together. The
  model ends on the average even where early stopping restored its best epoch (variants with
  ``restore_best``; ``deeper`` and ``larger_input`` keep their last epoch anyway), and ``swa+ema``
  is refused: the one average would replace the other.
* ``progressive``: progressive resizing, as fastai teaches it (Howard and Gugger, *Deep Learning
  for Coders*, chapter 7): the first epochs at 0.8x the variant's side, the rest at 1.2x (64 and
  96 pixels for ``larger_input``'s 80), switching at the epoch that makes the pixels of the whole
  run those of the unchanged schedule (``progressive_plan``), so at about the same FLOPs the
  network ends, and is scored, at a larger side. One network built for any side (global average
  pooling) and one optimizer carry on across the switch, so Adam's moments and the cosine
  schedule continue; early stopping starts counting again at the switch.
* ``input_96``: 96x96 inputs for the whole schedule (1.44x ``larger_input``'s pixels), the control
  for ``progressive``: does its gain come from ending at 96, or from the way it gets there?

``--test-sides 96`` also scores each trained model on validation images decoded at a larger side,
without training again: global average pooling makes the weights fit any input size, so a copy of
the network built for that side takes the trained weights (variants with global average
pooling only; the side must leave at least one pixel after the last pooling layer). Augmentation that zooms in, above all
random resized crops, shows the network animals larger than the validation images do at the
training side; testing at a larger side can undo that mismatch (Touvron et al., "Fixing the
train-test resolution discrepancy", NeurIPS 2019).

``--eval`` also scores each trained model on the evaluation set
(``../shared/data/dogs-vs-cats-eval/eval.zip``, as ``bench/accuracy.py`` does: the prediction
command's test-time augmentation and clipping), in two more columns. It measures only: ideas are
chosen on validation, and an idea is scored there only once it has been chosen (the run then
shows the unchanged variant beside it, trained from the same seed in the same run).
``--eval-limit N`` scores N of its images (half of each class), for quick checks.

``--seed N`` trains every row from another seed (initial weights, shuffling, augmentation; the
profile's own by default) on the same split: one seed's gain can be luck, and a second seed shows
whether it repeats.

``--train-images N`` trains every row on N of the training split's images instead of all of them,
half of each class, to draw a learning curve: how accuracy grows with the number of labelled
images, the question the targets raise (bench/README.md). The images kept are the first of one
fixed shuffle of each class, the same for every row and every ``--seed``, so a smaller N keeps a
subset of a larger one's; the validation split (and the evaluation set) stay whole, and every
row keeps its epochs, so fewer images also mean fewer optimiser steps.

The ideas are measured apart, one change each; ``a+b`` (e.g. ``bf16+input_80``) trains a
combination as one more row.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
    crop_scale: tuple[float, float] | None = None  # the area range of random resized crops
    epochs_factor: float = 1.0
    early_stopping: bool = True
    swa_from: float | None = None  # average the weights from this fraction of the epochs on
    progressive: tuple[float, float] | None = None  # first and last side, as fractions of the variant's


IDEAS = {i.name: i for i in [
    Idea("reference", "the variant unchanged"),
    Idea("bf16", "bfloat16 mixed precision", policy="mixed_bfloat16"),
    Idea("xla", "jit_compile=True", jit_compile=True),
    Idea("label_smoothing", "label smoothing 0.1", label_smoothing=0.1),
    Idea("mixup", "mixup, Beta(0.2, 0.2)", mixup=0.2),
    Idea("ema", "EMA of the weights (momentum 0.99)", ema=True),
    Idea("translate", "random shifts up to 10%", translate=0.1),
    Idea("crop", "random resized crops, 35-100% of the area", crop_scale=(0.35, 1.0)),
    Idea("input_80", "80x80 inputs", overrides={"image_size": (80, 80)}),
    Idea("epochs_x1.4", "40% more epochs", epochs_factor=1.4),
    Idea("longer_cosine", "40% more epochs, no early stopping", epochs_factor=1.4, early_stopping=False),
    Idea("hires_stem", "2x the input side, first convolution at stride 2",
         overrides={"image_size": "double", "stem_stride": 2}),
    Idea("wide", "2x the filters in every block", overrides={"filters": "double"}),
    Idea("batch_128", "batches of 128 (half the steps per epoch), the same learning rate",
         overrides={"batch_size": 128}),
    Idea("input_72", "72x72 inputs", overrides={"image_size": (72, 72)}),
    Idea("residual", "a shortcut around every block of two convolutions", overrides={"residual": True}),
    Idea("swa", "the average of the last 40% of the epochs' weights (SWA)", swa_from=0.6),
    Idea("progressive", "progressive resizing: 0.8x the side, then 1.2x, the same pixels in all",
         progressive=(0.8, 1.2)),
    Idea("input_96", "96x96 inputs", overrides={"image_size": (96, 96)}),
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
        from utils.models.registry import builder_options

        overrides["filters"] = tuple(2 * width for width in builder_options(variant)["filters"])
    return overrides


def progressive_plan(side: int, epochs: int, fractions: tuple[float, float]) -> tuple[int, int, int]:
    """The first side, the last side and the epochs at the first side of progressive resizing.

    Each side is ``fraction x side`` rounded to a multiple of 8; the switch comes at the epoch
    that makes ``first_epochs x first² + (epochs - first_epochs) x last²`` closest to
    ``epochs x side²``, the pixels (and so about the FLOPs) of the unchanged schedule, and leaves
    at least one epoch at each side (a run of one epoch trains at the last side only).
    """
    first, last = (max(8, round(side * f / 8) * 8) for f in fractions)
    if epochs < 2 or not first < side < last:
        return first, last, 0
    exact = epochs * (last ** 2 - side ** 2) / (last ** 2 - first ** 2)
    return first, last, min(epochs - 1, max(1, round(exact)))


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


def behind(layer, model):
    """``model`` with ``layer`` in front of it (a training-only augmentation layer, for the ideas that add one)."""
    import keras

    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, model(layer(inputs)), name=model.name)


def with_translation(model, fraction: float, seed: int):
    """``model`` behind a RandomTranslation layer (active only while training)."""
    import keras

    return behind(keras.layers.RandomTranslation(fraction, fraction, fill_mode="reflect", seed=seed, name="translate"),
                  model)


def random_resized_crop_layer(scale: tuple[float, float], ratio: tuple[float, float] = (3 / 4, 4 / 3),
                              seed: int | None = None):
    """A Keras layer that, while training, crops each image to a random box and resizes it back.

    The box covers a fraction of the image's area drawn uniformly from ``scale`` and has a width
    to height ratio drawn log-uniformly from ``ratio`` (sides longer than the image's are cut to
    it), at a uniformly random place; ``tf.image.crop_and_resize`` samples it bilinearly at the
    input's size. At inference the image passes unchanged. Keras has no such layer (``RandomZoom``
    zooms about the centre, ``RandomCrop`` keeps the scale).
    """
    import keras
    import tensorflow as tf

    class RandomResizedCrop(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(dtype="float32", **kwargs)  # pixel arithmetic in float32 under any policy
            self.seeds = keras.random.SeedGenerator(seed)

        def boxes(self, n):
            area = keras.random.uniform((n,), scale[0], scale[1], seed=self.seeds)
            log_ratio = keras.random.uniform((n,), math.log(ratio[0]), math.log(ratio[1]), seed=self.seeds)
            height = tf.minimum(1.0, tf.sqrt(area / tf.exp(log_ratio)))
            width = tf.minimum(1.0, tf.sqrt(area * tf.exp(log_ratio)))
            top = keras.random.uniform((n,), seed=self.seeds) * (1.0 - height)
            left = keras.random.uniform((n,), seed=self.seeds) * (1.0 - width)
            return tf.stack([top, left, top + height, left + width], axis=1)

        def call(self, images, training=None):
            if not training:
                return images
            n = tf.shape(images)[0]
            return tf.image.crop_and_resize(images, self.boxes(n), tf.range(n), tf.shape(images)[1:3])  # any side

    return RandomResizedCrop(name="random_resized_crop")


def with_crops(model, scale: tuple[float, float], seed: int):
    """``model`` behind a random resized crop layer (active only while training)."""
    return behind(random_resized_crop_layer(scale, seed=seed), model)


def cannot_add_shortcuts(variant) -> str | None:
    """Why ``residual`` cannot change ``variant``'s network (a ``gap_cnn`` with one convolution per
    block, which would build unchanged), or None if it can."""
    from utils.models.builders import can_add_shortcuts
    from utils.models.registry import builder_options

    options = builder_options(variant)
    if not can_add_shortcuts(options["filters"], options["convs_per_block"]):
        return (f"the idea 'residual' adds a shortcut around each block of two convolutions, and "
                f"{variant.name!r} has one convolution per block. Choose deeper or larger_input with --variant, "
                "or leave the idea out.")
    return None


def weight_average_callback(first_epoch: int):
    """A Keras callback that averages the model's weights at the end of every epoch from ``first_epoch``
    (counted from 0) and, when training ends, puts the average in the model (``.averaged`` says
    how many epochs went into it; none if training stopped earlier, and the model keeps its weights)."""
    import keras
    import numpy as np

    class WeightAverage(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.total, self.averaged = None, 0

        def on_epoch_end(self, epoch, logs=None):
            if epoch < first_epoch:
                return
            weights = [np.asarray(w, dtype="float64") for w in self.model.get_weights()]
            self.total = weights if self.total is None else [t + w for t, w in zip(self.total, weights)]
            self.averaged += 1

        def on_train_end(self, logs=None):
            if self.averaged:
                self.model.set_weights([t / self.averaged for t in self.total])

    return WeightAverage()


def recompute_batchnorm_statistics(model, dataset) -> int:
    """Batch normalisation's moving mean and variance, recomputed as the plain average over every batch
    of ``dataset`` (training mode, so augmentation as in training): averaged weights need their
    own statistics, not the average of other weights'. Returns the number of batches."""
    import keras

    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    batches = 0
    try:
        for images, _ in dataset:
            batches += 1
            for layer in norms:  # the k-th batch weighs 1/k: the running value is the mean of all so far
                layer.momentum = 1.0 - 1.0 / batches
            model(images, training=True)  # eager, so each call reads the momentum just set
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return batches


@dataclass
class Outcome:
    idea: str
    what: str
    epochs: str
    val_accuracy: float | None
    val_log_loss: float | None
    seconds: float | None
    note: str = ""
    at_sides: dict = field(default_factory=dict)  # {side: (val accuracy, val log loss)} at --test-sides
    eval_scores: tuple[float, float] | None = None  # (eval accuracy, eval log loss) with --eval


def fewer_training_images(frame, n: int, seed: int):
    """``frame`` with only ``n`` of its training images left, half of each class (cats get ``n // 2``).

    Each class's training images are shuffled once by ``seed`` and the first ones kept, so a
    smaller ``n`` keeps a subset of a larger one's; the other splits are untouched. Raises
    :class:`BenchError` (what to do) when the split holds too few images of a class.
    """
    import numpy as np

    from accuracy import BenchError

    train = frame["split"] == "train"
    rows = {label: frame.index[train & (frame["label"] == label)].to_numpy() for label in (0, 1)}
    wanted = {0: n // 2, 1: n - n // 2}
    if any(wanted[label] > len(rows[label]) for label in wanted):
        cats, dogs = len(rows[0]), len(rows[1])
        most = 2 * min(cats, dogs) + (dogs > cats)  # an odd N gives the dogs the extra image
        raise BenchError(f"--train-images {n} is more than the training split can give half of each class: it holds "
                         f"{cats} cats and {dogs} dogs. Ask for at most {most}.")
    kept = [row for label, count in wanted.items() for row in np.random.default_rng(seed).permutation(rows[label])[:count]]
    return frame[~train | frame.index.isin(kept)]


def scored(model, dataset, desc: str) -> tuple[float, float]:
    """Validation accuracy and log loss with the prediction command's test-time augmentation and clipping."""
    from accuracy import clipped_scores

    from utils.predict import predict_dataset

    return clipped_scores(*predict_dataset(model, dataset, tta=True, desc=desc))


def cannot_apply(idea: Idea, variant) -> str | None:
    """Why ``idea`` cannot be tried on ``variant`` (one sentence saying what to do), or None if it can."""
    from utils.models.registry import builder_options

    known = builder_options(variant)
    unknown = [k for k in idea.overrides if k not in variant.__dataclass_fields__ and k not in known]
    if unknown:
        return (f"the idea {idea.name!r} sets {', '.join(unknown)}, which the builder of {variant.name!r} "
                f"({variant.options['builder']}) does not take. Choose deeper or larger_input with --variant, "
                "or leave the idea out.")
    if idea.overrides.get("residual") and (reason := cannot_add_shortcuts(variant)):
        return reason
    if idea.progressive and (smallest_test_side(variant) is None or len(set(variant.image_size)) != 1):
        lacks = ("flattens its last feature map, so its weights fit one input size only" if
                 smallest_test_side(variant) is None else "takes {}x{} inputs".format(*variant.image_size))
        return (f"{idea.name!r} trains one network at two square input sides, which needs global average "
                f"pooling and square inputs; {variant.name!r} {lacks}. Choose deeper or larger_input with --variant.")
    if idea.progressive and (idea.ema or idea.swa_from is not None):
        return (f"{idea.name!r} trains in two calls of fit, and an average of the weights replaces them at the end "
                "of each: the second phase would start from the first phase's average. Try them apart.")
    if idea.swa_from is not None and idea.ema:
        return (f"{idea.name!r} combines two averages of the weights: SWA's would replace EMA's when training ends. "
                "Try swa and ema apart.")
    return None


def at_side(network, variant_name: str, overrides: dict, side: int):
    """A copy of ``network`` (built by the registry with ``overrides``) for ``side`` x ``side`` inputs, same weights."""
    from utils.models.registry import build_model

    copy = build_model(variant_name, compile=False, **{**overrides, "image_size": (side, side)})
    copy.set_weights(network.get_weights())
    return copy


def early_stopping(idea: Idea, variant) -> list:
    """The callbacks ``fit`` gets: the variant's early stopping, or none for an idea that turns it off."""
    import keras

    if not idea.early_stopping:
        return []
    return [keras.callbacks.EarlyStopping(patience=variant.patience, restore_best_weights=variant.restore_best)]


def smallest_test_side(variant) -> int | None:
    """The smallest input side a copy of ``variant``'s network can take, or None if it cannot change side.

    Only ``gap_cnn`` networks (global average pooling) keep their weights at another side; each
    of their blocks halves the side, after a first convolution of stride ``stem_stride``.
    """
    from utils.models.registry import builder_options

    if variant.options.get("builder") != "gap_cnn":
        return None
    options = builder_options(variant)
    return 2 ** len(options["filters"]) * options["stem_stride"]


def train_idea(idea: Idea, variant_name: str, frame, profile, epochs: int | None,
               test_sides: tuple[int, ...] = (), eval_set=None) -> Outcome:
    from dataclasses import replace

    import keras

    from utils.fit import fit_in_phases, learning_rate_schedule, variant_datasets
    from utils.models.cost import bf16_supported
    from utils.models.registry import build_model, get_variant

    if idea.policy == "mixed_bfloat16" and not bf16_supported():
        return Outcome(idea.name, idea.what, "-", None, None, None, "skipped: this CPU has no AVX512-BF16 or AMX")
    overrides = resolved_overrides(idea, get_variant(variant_name))
    variant = get_variant(variant_name, **overrides)
    cap = profile.epochs(round((epochs or variant.epochs) * idea.epochs_factor))
    keras.utils.set_random_seed(profile.seed)
    keras.mixed_precision.set_global_policy(idea.policy or "float32")
    try:
        phases = [(variant, cap)]  # (the variant at the phase's side, the epoch the phase ends at)
        if idea.progressive:
            first, last, at_first = progressive_plan(variant.image_size[0], cap, idea.progressive)
            phases = [(replace(variant, image_size=(first, first)), at_first),
                      (replace(variant, image_size=(last, last)), cap)]
        phase_data = [variant_datasets(frame, v, seed=profile.seed) for v, _ in phases]
        train_ds, val_ds = phase_data[-1]  # the last phase's side is the one the model is scored at
        steps = math.ceil(int((frame["split"] == "train").sum()) / variant.batch_size)
        any_side = {"image_size": (None, None)} if idea.progressive else {}  # one network for every phase
        model = network = build_model(variant_name, compile=False, **{**overrides, **any_side})
        if idea.translate:
            model = with_translation(model, idea.translate, profile.seed)
        if idea.crop_scale:
            model = with_crops(model, idea.crop_scale, profile.seed)
        soft = idea.label_smoothing or idea.mixup

        def for_fit(train, validation):
            if idea.mixup:
                return mixup_batches(train, idea.mixup, profile.seed), one_hot(validation)
            return (one_hot(train), one_hot(validation)) if soft else (train, validation)
        loss = (keras.losses.CategoricalCrossentropy(label_smoothing=idea.label_smoothing) if soft
                else "sparse_categorical_crossentropy")
        optimizer = keras.optimizers.Adam(learning_rate_schedule(variant, steps, cap), use_ema=idea.ema,
                                          ema_momentum=0.99)
        model.compile(optimizer=optimizer, loss=loss, jit_compile=idea.jit_compile)
        callbacks = early_stopping(idea, variant)
        average = weight_average_callback(math.floor(cap * idea.swa_from)) if idea.swa_from is not None else None
        callbacks += [average] if average else []
        start = time.perf_counter()
        histories = fit_in_phases(model, [(*for_fit(*data), until) for data, (_, until) in zip(phase_data, phases)],
                                  callbacks)
        trained = [len(h.epoch) if h is not None else 0 for h in histories]
        notes, last_side = [], phases[-1][0].image_size[0]
        if idea.progressive:
            notes.append(", then ".join(f"{n} epoch{'s' if n != 1 else ''} at {v.image_size[0]}x{v.image_size[0]}"
                                        for n, (v, _) in zip(trained, phases) if n) + f"; scored at {last_side}x{last_side}")
        if average:  # part of the method, so part of its time
            if average.averaged:
                batches = recompute_batchnorm_statistics(model, train_ds)
                notes.append(f"weights of {average.averaged} epoch{'s' if average.averaged != 1 else ''} averaged, "
                             f"batch normalisation's statistics recomputed on {batches} batches")
            else:
                notes.append("stopped early, before any weights were averaged")
        note = "; ".join(notes)
        seconds = time.perf_counter() - start
        accuracy, log_loss = scored(model, val_ds, idea.name)
        at_sides = {}
        for side in test_sides:
            _, val_side = variant_datasets(frame, replace(variant, image_size=(side, side)), seed=profile.seed)
            at_sides[side] = scored(at_side(network, variant_name, overrides, side), val_side, f"{idea.name} at {side}")
        on_eval = None
        if eval_set is not None:  # measuring only; the network at the side it was scored at on validation
            from accuracy import eval_scores

            judged = at_side(network, variant_name, overrides, last_side) if idea.progressive else network
            on_eval = eval_scores(judged, eval_set, f"{idea.name} on the evaluation set")
        return Outcome(idea.name, idea.what, f"{sum(trained)} of {cap}", accuracy, log_loss, seconds, note,
                       at_sides=at_sides, eval_scores=on_eval)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def markdown(outcomes: list[Outcome], test_sides: tuple[int, ...] = (), with_eval: bool = False) -> str:
    """The table: one row per idea, the reference first; ``test_sides`` add accuracy and log loss at each
    side, and ``with_eval`` the evaluation set's two columns after the time."""
    reference = outcomes[0].seconds
    extra = "".join(f" val accuracy at {s} | val log loss at {s} |" for s in test_sides)
    tail = " eval accuracy | eval log loss |" if with_eval else ""
    lines = [f"| idea | what changes | epochs | val accuracy | val log loss |{extra} time / reference's |{tail}",
             "|---|---|---:|---:|---:|" + "---:|---:|" * len(test_sides) + "---:|" + "---:|---:|" * with_eval]
    for o in outcomes:
        if o.seconds is None:
            lines.append(f"| `{o.idea}` | {o.what} | - | - | - |" + " - | - |" * len(test_sides) + f" {o.note} |"
                         + " - | - |" * with_eval)
            continue
        sides = "".join(f" {o.at_sides[s][0]:.4f} | {o.at_sides[s][1]:.4f} |" for s in test_sides)
        scores = f" {o.eval_scores[0]:.4f} | {o.eval_scores[1]:.4f} |" if with_eval else ""
        lines.append(f"| `{o.idea}` | {o.what} | {o.epochs} | {o.val_accuracy:.4f} | {o.val_log_loss:.4f} |{sides} "
                     f"{o.seconds / reference:.2f} |{scores}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ideas", nargs="*", help=f"ideas to try (default: all): {', '.join(IDEAS)}")
    parser.add_argument("--variant", default="deeper", help="the variant the ideas change (default: deeper)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the reference (default: the variant's)")
    parser.add_argument("--seed", type=int, default=None,
                        help="training seed of every row (default: the profile's); the split stays the profile's")
    parser.add_argument("--test-sides", type=int, nargs="+", default=[], metavar="SIDE",
                        help="also score each trained model on validation images of SIDE x SIDE pixels")
    from accuracy import DEFAULT_EVAL

    parser.add_argument("--eval", type=Path, nargs="?", const=DEFAULT_EVAL, default=None, metavar="PATH",
                        help="also score each model on the evaluation set, measuring only "
                             "(default archive: ../shared/data/dogs-vs-cats-eval/eval.zip)")
    parser.add_argument("--eval-limit", type=int, default=None, help="score on this many evaluation images only")
    parser.add_argument("--train-images", type=int, default=None, metavar="N",
                        help="train every row on N of the training split's images, half of each class "
                             "(a learning curve; default: all of them)")
    parser.add_argument("--list", action="store_true", help="print the ideas and stop")
    args = parser.parse_args(argv)
    if args.list:
        for listed in IDEAS.values():
            print(f"{listed.name:16s} {listed.what}")
        return 0
    from utils.config import PROFILES
    from utils.models.registry import VARIANTS

    variant = args.variant
    problems = [f"unknown idea {n!r}. Choose from: {', '.join(IDEAS)} (or a+b to combine them)."
                for n in args.ideas if any(part not in IDEAS for part in n.split("+"))]
    problems += [f"unknown variant {variant!r}. Choose from: {', '.join(VARIANTS)}."] if variant not in VARIANTS else []
    if not problems:
        problems += [reason for n in (args.ideas or IDEAS) if (reason := cannot_apply(idea(n), VARIANTS[variant]))]
    if args.test_sides and not problems:
        from utils.models.registry import get_variant

        if smallest_test_side(VARIANTS[variant]) is None:
            problems.append(f"--test-sides needs a variant with global average pooling (deeper, larger_input...); "
                            f"{variant!r} flattens its last feature map, so its weights fit one input size only.")
        else:  # the smallest side every idea's network can take
            smallest = max(smallest_test_side(get_variant(variant, **resolved_overrides(idea(n), VARIANTS[variant])))
                           for n in ["reference", *(args.ideas or IDEAS)])
            problems += [f"--test-sides takes sides from {smallest} to 512 pixels for {variant!r}, not {side}."
                         for side in args.test_sides if not smallest <= side <= 512]
    args.test_sides = list(dict.fromkeys(args.test_sides))
    problems += [f"unknown profile {args.profile!r}. Choose from: {', '.join(PROFILES)}."] if args.profile not in PROFILES else []
    if args.eval_limit is not None and args.eval_limit < 2:
        problems.append(f"--eval-limit must be at least 2, not {args.eval_limit}.")
    if args.train_images is not None and args.train_images < 2:
        problems.append(f"--train-images must be at least 2 (one image of each class), not {args.train_images}.")
    if problems:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    from accuracy import with_messages

    return with_messages(measured, args)


def measured(args) -> int:
    """Check the evaluation set if one is asked for, then :func:`report`; a bad archive stops it before any training."""
    from dataclasses import replace

    from accuracy import check_disjoint, extract_eval

    from utils.config import get_profile
    from utils.data.dataset import load_manifest

    profile = get_profile(args.profile)
    frame = load_manifest(profile)  # the profile's split, whatever the training seed
    if args.train_images is not None:  # the same images whatever the training seed, too
        frame = fewer_training_images(frame, args.train_images, profile.seed)
    if args.seed is not None:
        profile = replace(profile, seed=args.seed)
    private = Path(tempfile.mkdtemp(prefix="catsdogs-eval-"))
    try:
        eval_set = None
        if args.eval is not None:
            eval_set = extract_eval(args.eval, private, args.eval_limit)
            check_disjoint(frame.loc[frame["split"].isin(["train", "validation"]), "filepath"], eval_set)
        report(args, args.variant, frame, profile, eval_set)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return 0


def report(args, variant: str, frame, profile, eval_set) -> None:
    """Train every idea named (the reference first) and print the table."""
    from utils.models.cost import cpu_description

    names = list(dict.fromkeys(["reference", *(args.ideas or IDEAS)]))
    started, load = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()[0]
    outcomes = []
    for name in names:
        print(f"== {name}: {idea(name).what}", flush=True)
        outcomes.append(train_idea(idea(name), variant, frame, profile, args.epochs, tuple(args.test_sides), eval_set))
        o = outcomes[-1]
        figures = (f"{o.epochs} epochs, val accuracy {o.val_accuracy:.4f}, log loss {o.val_log_loss:.4f}, "
                   f"{o.seconds:.0f} s" if o.seconds is not None else "")
        print(f"   {'; '.join(part for part in (figures, o.note) if part)}", flush=True)
    print(f"\nIdeas on `{variant}`, profile {profile.name!r}, training seed {profile.seed}, validation split "
          f"({int((frame['split'] == 'validation').sum())} images; TTA, clipped as the prediction command does).")
    if args.train_images is not None:
        kept = frame.loc[frame["split"] == "train", "label"]
        print(f"Training split: {len(kept)} of its images only (--train-images): {int((kept == 0).sum())} cats, "
              f"{int((kept == 1).sum())} dogs.")
    print(f"Machine: {cpu_description()}; started {started}, finished "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average (1 min) {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end.")
    if eval_set is not None:
        print(f"Evaluation set: {len(eval_set.files)} images from {args.eval.name}, measuring only "
              "(ideas are chosen on validation); the prediction command's TTA and clipping.")
    print()
    print(markdown(outcomes, tuple(args.test_sides), with_eval=eval_set is not None))


if __name__ == "__main__":
    sys.exit(main())
