"""The builders behind the registry's variants (notebooks 03 and 04): each returns an uncompiled
keras.Model for a given input shape. :mod:`utils.models.registry` names the variants that use them
and re-exports every name here, so ``from utils.models.registry import build_gap_cnn`` works.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras
from keras import layers

from utils.config import SEED

NUM_CLASSES = 2


def convs_in_blocks(filters: Sequence[int], convs_per_block: int | Sequence[int]) -> tuple[int, ...]:
    """The number of convolutions in each block: ``convs_per_block`` as one number per block."""
    if isinstance(convs_per_block, int):
        convs_per_block = (convs_per_block,) * len(filters)
    if len(convs_per_block) != len(filters):
        raise ValueError(f"convs_per_block has {len(convs_per_block)} entries for {len(filters)} blocks.")
    return tuple(convs_per_block)


def can_add_shortcuts(filters: Sequence[int], convs_per_block: int | Sequence[int]) -> bool:
    """Whether ``residual=True`` changes the network: some block has two or more convolutions to go around."""
    return max(convs_in_blocks(filters, convs_per_block)) >= 2


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
    if residual and not can_add_shortcuts(filters, convs_per_block):
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
    # float32 even under mixed precision: P(dog) near 0 or 1 needs more than bfloat16's 2 to 3 digits
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


BUILDERS: dict[str, Callable[..., keras.Model]] = {"seed_cnn": build_seed_cnn, "gap_cnn": build_gap_cnn}
