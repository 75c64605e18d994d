"""The registry of named CNN variants (introduced in notebooks 03 and 04).

Notebook 03 rebuilds the seed notebook's model (``baseline``); notebook 04 improves it one
idea at a time. Each variant is a :class:`Variant` in :data:`VARIANTS`: the input it wants
(size, colour), how long it trains, the batch size, and the one idea it adds over the
previous variant. :func:`build_model` turns a name into a compiled Keras model.

Every model starts with a ``Rescaling(1/255)`` layer, because the input pipeline
(:mod:`utils.data.pipeline`) hands out pixels in [0, 255]; preprocessing inside the model means
the submission in notebook 08 uses exactly the training preprocessing.

Every model ends with ``Dense(2, softmax)`` (P(cat), P(dog)), as the seed did; use
:func:`utils.predict.dog_probability` to get P(dog) from any model, including 1-unit sigmoid heads.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable

import keras

from utils.models.builders import (  # noqa: F401  (the builders, imported from here as before)
    BUILDERS, NUM_CLASSES, augmentation_layers, build_gap_cnn, build_seed_cnn, convs_in_blocks,
)
from utils.models.precision import compute_policy, dtype_policy, in_float32  # noqa: F401  (imported from here)
from utils.models.size import count_flops, layer_flops, layer_table, leaf_layers  # noqa: F401  (imported from here)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Variant:
    """One named model recipe: its idea, its input and its training settings (notebook 03)."""

    name: str
    description: str  # the idea this variant adds, in one sentence
    image_size: tuple[int, int]
    color_mode: str  # "grayscale" or "rgb"
    epochs: int
    batch_size: int
    learning_rate: float = 1e-3
    lr_schedule: str | None = None  # None (constant) or "cosine" (decays to 0 over the run)
    warmup_epochs: int = 0  # cosine only: epochs of linear warm-up from 0 to learning_rate first
    patience: int = 5  # EarlyStopping patience (epochs without a better validation loss)
    restore_best: bool = True  # end on the best validation-loss epoch's weights (False: the last epoch's)
    # compute in bfloat16 (weights stay float32) where the CPU does it in hardware (AVX512-BF16 or
    # AMX: utils.models.cost.bf16_supported); float32 elsewhere, where bfloat16 would be emulated and slower
    mixed_precision: bool = False
    # progressive resizing: (first side, share of the epochs): train at first side x first side for that share
    # of the epochs, then at image_size for the rest (utils.fit.variants.progressive_phases); None: image_size throughout
    progressive: tuple[int, float] | None = None
    options: dict = field(default_factory=dict)  # passed to the builder

    @property
    def channels(self) -> int:
        return 1 if self.color_mode == "grayscale" else 3

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)


# --------------------------------------------------------------------------------------------
# The registry, in the order notebook 04 tries the ideas.

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant(
            "baseline",
            "The seed notebook's model: 50x50 grayscale, four Conv-Pool blocks, Flatten, Dense(128), Dropout(0.2).",
            image_size=(50, 50), color_mode="grayscale", epochs=10, batch_size=200,
            options={"builder": "seed_cnn"},
        ),
        Variant(
            "color_larger",
            "Same layers, but colour and a 64x64 input: fur colour and more detail are visible.",
            image_size=(64, 64), color_mode="rgb", epochs=8, batch_size=64,
            options={"builder": "seed_cnn"},
        ),
        Variant(
            "augmented",
            "Random flips, rotations, zooms and contrast changes, so the model never sees the same image twice.",
            image_size=(64, 64), color_mode="rgb", epochs=12, batch_size=64,
            options={"builder": "seed_cnn", "augment": True},
        ),
        Variant(
            "batchnorm_gap",
            "BatchNormalization after every convolution, GlobalAveragePooling instead of Flatten, "
            "a lower learning rate with a cosine schedule, and more patience (8 epochs) before early stopping.",
            image_size=(64, 64), color_mode="rgb", epochs=10, batch_size=64,
            learning_rate=3e-4, lr_schedule="cosine", patience=8,
            options={"builder": "gap_cnn", "filters": (32, 64, 128, 256), "dropout": 0.3},
        ),
        Variant(
            "deeper",
            "Two 3x3 convolutions per block at half the width (one in the first block, the slowest per FLOP, and "
            "one in the widest, last block) and a fifth block; a one-epoch warm-up to a higher learning rate; more epochs.",
            image_size=(64, 64), color_mode="rgb", epochs=35, batch_size=64,
            learning_rate=2e-3, lr_schedule="cosine", warmup_epochs=1, patience=10,
            # keep the last epoch: the schedule has annealed to 0 there, while validation loss can
            # bottom out a few epochs earlier, at a higher rate, as the model grows more confident
            restore_best=False,
            # one convolution at 64x64 (the slowest per FLOP on a CPU, bench/layer_cost.py) and at 4x4 (a second
            # 256-filter one would add 590k weights); the time saved pays for the five extra epochs
            options={"builder": "gap_cnn", "filters": (16, 32, 64, 128, 256), "convs_per_block": (1, 2, 2, 2, 1),
                     "dropout": 0.3},
        ),
        Variant(
            "larger_input",
            "deeper's network and recipe on 80x80 inputs (1.56 times the FLOPs), computed in bfloat16 where the "
            "CPU does that in hardware (float32 elsewhere), which pays for part of the extra cost.",
            image_size=(80, 80), color_mode="rgb", epochs=35, batch_size=64,
            learning_rate=2e-3, lr_schedule="cosine", warmup_epochs=1, patience=10, restore_best=False,
            mixed_precision=True,
            options={"builder": "gap_cnn", "filters": (16, 32, 64, 128, 256), "convs_per_block": (1, 2, 2, 2, 1),
                     "dropout": 0.3},
        ),
        # Notebook 04's last step; not the default variant (DEFAULT_VARIANT, which the command line trains).
        Variant(
            "progressive",
            "larger_input's network and recipe with progressive resizing: 64x64 inputs for the first 55% of the "
            "epochs, 96x96 for the rest (the pixels, so about the FLOPs, of 80x80 throughout), ending and predicting "
            "at 96x96.",
            image_size=(96, 96), color_mode="rgb", epochs=35, batch_size=64,
            learning_rate=2e-3, lr_schedule="cosine", warmup_epochs=1, patience=10, restore_best=False,
            mixed_precision=True,
            # 0.55 = (96² - 80²) / (96² - 64²): the share at 64 that makes the run's pixels those of 80x80 throughout
            progressive=(64, 0.55),
            options={"builder": "gap_cnn", "filters": (16, 32, 64, 128, 256), "convs_per_block": (1, 2, 2, 2, 1),
                     "dropout": 0.3},
        ),
    ]
}

# Published recipes a learner might follow instead (bench/accuracy.py compares them); not course steps.
from utils.models.peer_recipes import PEER_BUILDERS, peer_variants  # noqa: E402

BUILDERS.update(PEER_BUILDERS)
VARIANTS.update((v.name, v) for v in peer_variants())
OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}

#: The best from-scratch variant measured in notebook 04 (used by later notebooks and the CLI).
DEFAULT_VARIANT = "larger_input"


def get_variant(name: str, **overrides: Any) -> Variant:
    """The registered variant ``name``, with any of its fields replaced by ``overrides`` (notebook 04)."""
    if name not in VARIANTS:
        raise KeyError(f"Unknown variant {name!r}. Registered variants: {', '.join(VARIANTS)}.")
    variant = VARIANTS[name]
    fields = {k: v for k, v in overrides.items() if k in Variant.__dataclass_fields__}
    options = {k: v for k, v in overrides.items() if k not in fields and k != "seed"}
    if "image_size" in fields:
        fields["image_size"] = tuple(fields["image_size"])
    variant = replace(variant, **fields)
    if options:
        variant = replace(variant, options={**variant.options, **options})
    return variant


def builder_options(variant: Variant) -> dict[str, Any]:
    """Every option ``variant``'s builder takes: the variant's own, and its builder's defaults for the rest."""
    import inspect

    builder = BUILDERS[variant.options["builder"]]
    defaults = {k: p.default for k, p in inspect.signature(builder).parameters.items()
                if p.default is not inspect.Parameter.empty and k != "name"}
    return {**defaults, **variant.options}


def variant_changes(before: str, after: str) -> list[str]:
    """Every setting that differs between two registered variants, as ``"field: old -> new"`` (notebook 04).

    Notebook 04 prints it for each step, so a step that changes more than one thing says so.
    """
    a, b = VARIANTS[before], VARIANTS[after]
    fields = [f for f in Variant.__dataclass_fields__ if f not in ("name", "description", "options")]
    changes = [f"{f}: {getattr(a, f)} -> {getattr(b, f)}" for f in fields if getattr(a, f) != getattr(b, f)]
    oa, ob = builder_options(a), builder_options(b)
    for key in sorted(set(oa) & set(ob)):  # a key only one builder has is part of the builder's change
        if oa[key] != ob[key]:
            changes.append(f"{key}: {oa.get(key)} -> {ob.get(key)}")
    return changes


def build_model(name: str, compile: bool = True, **overrides: Any) -> keras.Model:
    """A new model of the registered variant ``name`` (notebook 03), compiled with Adam.

    ``overrides`` replace fields of the :class:`Variant` (``image_size``, ``color_mode``,
    ``learning_rate`` -- a float or a Keras schedule --, ...) or builder options (``dropout``,
    ``filters``, ``augment``...). The loss is sparse categorical cross-entropy on the
    2-unit softmax, as in the seed notebook. A variant with ``mixed_precision`` computes in
    :func:`compute_policy`'s policy (its output layer stays float32); any other variant in Keras's
    global policy (float32 unless a script such as ``bench/ideas.py`` sets another).
    """
    variant = get_variant(name, **overrides)
    options = dict(variant.options)
    builder = BUILDERS[options.pop("builder")]
    optimizer = OPTIMIZERS[options.pop("optimizer", "adam")]  # peer recipes (utils.models.peer_recipes) set their own
    loss = options.pop("loss", "sparse_categorical_crossentropy")
    with dtype_policy(compute_policy(variant)):  # a variant without mixed_precision keeps the global policy
        model = builder(variant.input_shape, name=name, **options)
    if compile:
        model.compile(
            optimizer=optimizer(learning_rate=variant.learning_rate),
            loss=loss,
            metrics=["accuracy"],
        )
    return model


def variant_table(names: Iterable[str] | None = None) -> pd.DataFrame:
    """Parameters and forward-pass FLOPs per image of every variant (notebook 04), as a DataFrame."""
    import pandas as pd

    rows = []
    for name in names or VARIANTS:
        variant = VARIANTS[name]
        model = build_model(name, compile=False)
        rows.append({
            "variant": name,
            "input": "x".join(map(str, variant.input_shape)),
            "params": model.count_params(),
            "MFLOPs/image": round(count_flops(model) / 1e6, 1),
            "epochs": variant.epochs,
            "batch": variant.batch_size,
            "idea": variant.description,
        })
    return pd.DataFrame(rows).set_index("variant")
