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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import keras
from keras import layers

from utils.config import SEED
from utils.models.precision import compute_policy, dtype_policy, in_float32  # noqa: F401  (imported from here)
from utils.models.size import count_flops, layer_flops, layer_table, leaf_layers  # noqa: F401  (imported from here)

if TYPE_CHECKING:
    import pandas as pd

NUM_CLASSES = 2


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
    options: dict = field(default_factory=dict)  # passed to the builder

    @property
    def channels(self) -> int:
        return 1 if self.color_mode == "grayscale" else 3

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)


# --------------------------------------------------------------------------------------------
# Builders. Each returns an uncompiled keras.Model for a given input shape.


def convs_in_blocks(filters: Sequence[int], convs_per_block: int | Sequence[int]) -> tuple[int, ...]:
    """The number of convolutions in each block: ``convs_per_block`` as one number per block."""
    if isinstance(convs_per_block, int):
        convs_per_block = (convs_per_block,) * len(filters)
    if len(convs_per_block) != len(filters):
        raise ValueError(f"convs_per_block has {len(convs_per_block)} entries for {len(filters)} blocks.")
    return tuple(convs_per_block)


def _conv_pool_blocks(x, filters, batchnorm=False, convs_per_block=1, bn_momentum=0.9, stem_stride=1, residual=False):
    """Blocks of convolutions and a 2x2 max pooling; layers named ``block<b>_conv<i>``, ``_bn<i>``, ``_relu<i>``, ``_pool``.

    ``stem_stride=2`` makes the very first convolution step 2 pixels at a time (a 2x larger input
    for about the same FLOPs: ``bench/ideas.py hires_stem``).

    ``residual=True`` (with ``batchnorm``; ``bench/ideas.py residual``) adds a shortcut around every
    block of two or more convolutions, as in ResNet's basic block (He et al. 2016): the block's
    input is added (``block<b>_add``) to its last convolution's normalised output, before that
    convolution's ReLU. Where the block changes the width or the stride, the input passes a 1x1
    convolution with batch normalisation first (``block<b>_shortcut``, ``block<b>_shortcut_bn``).
    """
    for block, (width, convs) in enumerate(zip(filters, convs_in_blocks(filters, convs_per_block)), start=1):
        shortcut = x
        for i in range(1, convs + 1):
            name = f"block{block}_"
            strides = stem_stride if (block, i) == (1, 1) else 1
            if batchnorm:
                # The convolution's bias is redundant before BatchNormalization (it has its own shift).
                x = layers.Conv2D(width, 3, strides, padding="same", use_bias=False, name=f"{name}conv{i}")(x)
                # momentum 0.9 (Keras's default is 0.99): with ~50 steps an epoch, the running
                # statistics used at prediction time must follow the fast-changing weights.
                x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}bn{i}")(x)
                if residual and convs >= 2 and i == convs:
                    stride = stem_stride if block == 1 else 1  # the block's first convolution's
                    if shortcut.shape[-1] != width or stride != 1:
                        shortcut = layers.Conv2D(width, 1, stride, use_bias=False, name=f"{name}shortcut")(shortcut)
                        shortcut = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}shortcut_bn")(shortcut)
                    x = layers.Add(name=f"{name}add")([x, shortcut])
                x = layers.Activation("relu", name=f"{name}relu{i}")(x)
            else:
                x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"{name}conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return x


def augmentation_layers(seed: int = SEED) -> keras.Sequential:
    """Random flips, rotations, zooms and contrast changes, active only while training (notebook 04)."""
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.08, fill_mode="reflect", seed=seed + 1),
            layers.RandomZoom(0.15, fill_mode="reflect", seed=seed + 2),
            layers.RandomContrast(0.2, seed=seed + 3),
        ],
        name="augmentation",
    )


def build_seed_cnn(input_shape: tuple[int, int, int], filters: Sequence[int] = (32, 64, 128, 128), dense: int = 128,
                   dropout: float = 0.2, augment: bool = False, name: str = "baseline") -> keras.Model:
    """The seed notebook's CNN: Conv-Pool blocks, Flatten, Dense(128), Dropout, softmax (notebook 03)."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if augment:
        x = augmentation_layers()(x)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    x = _conv_pool_blocks(x, filters)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_gap_cnn(input_shape: tuple[int, int, int], filters: Sequence[int] = (32, 64, 128, 256),
                  convs_per_block: int | Sequence[int] = 1, dropout: float = 0.3, augment: bool = True,
                  bn_momentum: float = 0.9, stem_stride: int = 1, residual: bool = False,
                  name: str = "batchnorm_gap") -> keras.Model:
    """Conv-BatchNorm-ReLU blocks and GlobalAveragePooling instead of Flatten (notebook 04).

    ``convs_per_block`` is one number for every block or one per block: ``(1, 2, 2)`` gives the
    first (full-resolution) block one convolution and the others two. ``residual`` adds ResNet's
    shortcuts around the blocks of two or more convolutions (``_conv_pool_blocks``), and needs one.
    """
    if residual and max(convs_in_blocks(filters, convs_per_block)) < 2:
        raise ValueError("residual adds a shortcut around each block of two or more convolutions, and every "
                         "block here has one.")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if augment:
        x = augmentation_layers()(x)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    x = _conv_pool_blocks(x, filters, batchnorm=True, convs_per_block=convs_per_block, bn_momentum=bn_momentum,
                          stem_stride=stem_stride, residual=residual)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    # float32 even under mixed precision: P(dog) near 0 or 1 needs more than bfloat16's 3 digits
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


BUILDERS: dict[str, Callable[..., keras.Model]] = {"seed_cnn": build_seed_cnn, "gap_cnn": build_gap_cnn}

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
