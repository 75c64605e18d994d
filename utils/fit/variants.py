"""A registered variant trained end to end: its datasets, learning rate, HParams and run (notebook 04)."""
from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

import keras
import pandas as pd

from utils.config import SEED, Profile, get_profile
from utils.fit.run import fit_and_log
from utils.runs import RunResult, check_run_name

if TYPE_CHECKING:
    import tensorflow as tf

    from utils.models.registry import Variant


def _cache_for(frame: pd.DataFrame, image_size, channels: int):
    """Keep decoded images in RAM when they fit in 2 GB (every profile but ``full`` at large sizes)."""
    return "memory" if len(frame) * image_size[0] * image_size[1] * channels < 2e9 else None


def learning_rate_schedule(variant: Variant, steps_per_epoch: int,
                           epochs: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate a variant trains with: a float, or a Keras schedule (notebook 04).

    ``lr_schedule=None`` keeps ``variant.learning_rate`` constant. ``"cosine"`` lowers it along
    half a cosine to 0 at the last step; with ``warmup_epochs`` it first rises linearly from 0
    to ``variant.learning_rate`` over that many epochs (so a high rate does not hit the freshly
    initialised weights and BatchNormalization statistics at full strength), then decays.
    """
    if variant.lr_schedule is None:
        return variant.learning_rate
    if variant.lr_schedule != "cosine":
        raise ValueError(f"Unknown lr_schedule {variant.lr_schedule!r}: use None or 'cosine'.")
    total = max(1, steps_per_epoch * epochs)
    warmup = min(variant.warmup_epochs * steps_per_epoch, total - 1)
    if warmup <= 0:
        return keras.optimizers.schedules.CosineDecay(variant.learning_rate, decay_steps=total)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=total - warmup, warmup_target=variant.learning_rate,
                                                  warmup_steps=warmup)


def variant_datasets(frame: pd.DataFrame, variant: Variant, seed: int = SEED) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training and validation ``tf.data`` pipelines at a variant's size, colour and batch size (notebook 04)."""
    from utils.data.pipeline import make_dataset

    common = dict(image_size=variant.image_size, color_mode=variant.color_mode, batch_size=variant.batch_size,
                  cache=_cache_for(frame, variant.image_size, variant.channels), seed=seed)
    return make_dataset(frame, "train", **common), make_dataset(frame, "validation", **common)


def progressive_phases(variant: Variant, epochs: int) -> list[tuple[Variant, int]]:
    """The phases ``variant`` trains in: ``(the variant at the phase's input size, the epoch the phase ends at)``.

    Without ``variant.progressive``, one phase of ``epochs`` at ``variant.image_size``. With
    ``progressive=(side, share)`` (progressive resizing), ``round(share x epochs)``
    epochs at ``side x side`` first, at least one at each size, then the rest at
    ``variant.image_size``; a run of one epoch trains at ``image_size`` only.
    """
    if variant.progressive is None:
        return [(variant, epochs)]
    side, share = variant.progressive
    at_first = min(epochs - 1, max(1, round(share * epochs))) if epochs >= 2 else 0
    return [(replace(variant, image_size=(side, side), progressive=None), at_first), (variant, epochs)]


def check_progressive(variant: Variant) -> None:
    """Refuse, with what to change, a ``progressive`` variant one network cannot train at two sizes."""
    if variant.progressive is None:
        return
    side, share = variant.progressive
    problems = []
    if variant.options.get("builder") != "gap_cnn":
        problems.append("its network must end in global average pooling (builder 'gap_cnn') to take two input sizes")
    if len(set(variant.image_size)) != 1:
        problems.append(f"its image_size must be square, not {variant.image_size}")
    if variant.restore_best:
        problems.append("it must keep its last epoch (restore_best=False): the best one could be at the first size")
    if not (isinstance(side, int) and side >= 32 and 0 < share < 1):
        problems.append("progressive must be (a side of 32 pixels or more, a share between 0 and 1), "
                        f"not {variant.progressive}")
    if problems:
        raise ValueError(f"Variant {variant.name!r} cannot train with progressive resizing: "
                         + "; ".join(problems) + ".")


def variant_hparams(variant: Variant, epochs: int, profile: str | None = None) -> dict:
    """The hyperparameters a run of ``variant`` records for TensorBoard's HParams dashboard (notebook 04).

    ``precision`` is the dtype policy its layers compute in on this machine (``float32`` or
    ``mixed_bfloat16``), from :func:`utils.models.precision.compute_policy`, as
    :func:`~utils.models.registry.build_model` uses it.
    """
    from utils.models.precision import compute_policy

    return {
        "variant": variant.name,
        "image_size": variant.image_size,
        "color_mode": variant.color_mode,
        "batch_size": variant.batch_size,
        "learning_rate": variant.learning_rate,
        "lr_schedule": variant.lr_schedule or "constant",
        "warmup_epochs": variant.warmup_epochs,
        "restore_best": variant.restore_best,
        "precision": compute_policy(variant),  # what build_model computes in
        "max_epochs": epochs,
        "profile": profile,
        **({"progressive": "{}px for {:.0%} of the epochs".format(*variant.progressive)} if variant.progressive else {}),
        **{k: v for k, v in variant.options.items() if k != "builder"},
    }


def train_variant(name: str, frame: pd.DataFrame | None = None, profile: Profile | str | None = None,
                  run_name: str | None = None, strategy: tf.distribute.Strategy | None = None,
                  epochs: int | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
                  **overrides: Any) -> RunResult:
    """Build, train and log the registered variant ``name``: what notebooks 03 and 04 write out (notebook 04).

    ``frame`` is the manifest (default: :func:`utils.data.dataset.load_manifest` for the profile);
    ``profile`` a :class:`~utils.config.Profile` or its name (default: ``CATSDOGS_PROFILE``);
    ``epochs`` replaces the variant's own number; either is capped by the profile.
    ``overrides`` change the variant (see :func:`utils.models.registry.build_model`).
    """
    from utils.models.registry import build_model, get_variant

    if run_name is not None:
        check_run_name(run_name)
    profile = get_profile(profile)
    variant = get_variant(name, **overrides)
    if frame is None:
        from utils.data.dataset import load_manifest

        frame = load_manifest(profile)
    check_progressive(variant)
    keras.utils.set_random_seed(profile.seed)
    epochs = profile.epochs(epochs or variant.epochs)
    phases = progressive_phases(variant, epochs)
    earlier = [(*variant_datasets(frame, at, seed=profile.seed), until) for at, until in phases[:-1] if until]
    train_ds, val_ds = variant_datasets(frame, variant, seed=profile.seed)

    steps_per_epoch = math.ceil(int((frame["split"] == "train").sum()) / variant.batch_size)
    learning_rate = learning_rate_schedule(variant, steps_per_epoch, epochs)  # one schedule across the phases
    model_overrides = {k: v for k, v in overrides.items() if k != "learning_rate"}
    any_size = {"image_size": (None, None)} if earlier else {}  # one network for every phase's input size
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        model = build_model(name, learning_rate=learning_rate, **{**model_overrides, **any_size})

    def at_last_size(trained: keras.Model) -> keras.Model:
        """The trained network rebuilt for ``variant.image_size``, so its checkpoint says what input it takes."""
        final = build_model(name, learning_rate=learning_rate, **model_overrides)
        final.set_weights(trained.get_weights())
        final.optimizer.build(final.trainable_variables)  # so the checkpoint reloads without warnings
        return final

    return fit_and_log(model, train_ds, val_ds, run_name=run_name, hparams=variant_hparams(variant, epochs, profile.name),
                       epochs=epochs, callbacks=callbacks, strategy=strategy, patience=variant.patience, variant=name,
                       profile=profile.name, restore_best=variant.restore_best, earlier_phases=earlier,
                       final_model=at_last_size if earlier else None)
