"""A model's size: forward-pass FLOPs per image, and its layers as a table (notebooks 03 and 04)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import keras
from keras import layers

if TYPE_CHECKING:
    import pandas as pd


def leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of ``model``, with nested models (the augmentation) opened up, in order (notebook 03)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def layer_flops(layer: keras.layers.Layer) -> int:
    """Forward-pass FLOPs of one built layer for one image, by :func:`count_flops`'s rule (notebook 04)."""
    if isinstance(layer, layers.DepthwiseConv2D):
        _, h, w, c_out = layer.output.shape
        kh, kw = layer.kernel_size
        return int(2 * h * w * c_out * kh * kw)
    if isinstance(layer, layers.Conv2D):
        _, h, w, c_out = layer.output.shape
        c_in = layer.input.shape[-1]
        kh, kw = layer.kernel_size
        return int(2 * h * w * c_out * kh * kw * c_in // layer.groups)
    if isinstance(layer, layers.Dense):
        return int(2 * int(layer.input.shape[-1]) * layer.units)
    return 0


def count_flops(model: keras.Model) -> int:
    """Floating-point operations of one forward pass for one image, from the layer shapes (notebook 04).

    Counts a multiply-add as 2 operations in Conv2D, DepthwiseConv2D and Dense layers (which
    hold almost all the work); pooling, activations and normalisation are ignored. A training
    step costs about three times this (forward, and two matrix products backward).
    """
    return sum(layer_flops(layer) for layer in leaf_layers(model))


def layer_table(model: keras.Model, names: bool = False) -> "pd.DataFrame":
    """Each layer's type, output shape and parameter count (and its name if ``names``) (notebook 03).

    Two models with equal tables are the same architecture: notebooks 03 and 04 compare the
    models they write out with the registry's this way.
    """
    import pandas as pd

    rows = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        shape = tuple(layer.output.shape[1:])
        row = {"layer": type(layer).__name__, "output shape": "x".join(map(str, shape)),
               "params": layer.count_params()}
        rows.append({"name": layer.name, **row} if names else row)
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1))
