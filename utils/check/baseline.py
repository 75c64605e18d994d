"""Checks for notebook 03's exercises (the baseline CNN)."""
from __future__ import annotations

from typing import Any

from utils.check._report import exercise


@exercise("03.1")
def conv_layer(output_shape: Any, parameters: int) -> tuple[bool, str]:
    """Output shape and parameter count of Conv2D(16, 5, padding="valid") on a 50x50x1 input (notebook 03)."""
    if tuple(int(d) for d in output_shape) != (46, 46, 16):
        return False, "a 'valid' 5x5 window fits n - k + 1 times along each side; the channels are the filters."
    if int(parameters) != 416:
        return False, "each filter has k x k x input-channels weights plus one bias."
    return True, ""


@exercise("03.2")
def dense_parameters(parameters: int) -> tuple[bool, str]:
    """Parameters of the seed model's first Dense(128) layer for a 100x100 input (notebook 03)."""
    side = 100
    for _ in range(4):
        side //= 2  # four 2x2 poolings, each rounding down
    if int(parameters) == (side * side * 128 + 1) * 128:
        return True, ""
    return False, ("halve 100 four times, rounding down; Flatten gives side x side x 128 values, and each of the "
                   "128 units has one weight per value plus a bias.")


@exercise("03.3")
def seed_model_with_dropout(model: Any) -> tuple[bool, str, str]:
    """The seed model written again with Dropout(0.5): otherwise the same layers as the registry's baseline
    (notebook 03)."""
    from keras import layers

    from utils.models.registry import build_model
    from utils.models.size import layer_table

    rates = [layer.rate for layer in model.layers if isinstance(layer, layers.Dropout)]
    if rates != [0.5]:
        return False, f"the model's dropout rates are {rates}; the exercise asks for one Dropout(0.5).", ""
    reference = build_model("baseline", compile=False, dropout=0.5)
    if not layer_table(model).equals(layer_table(reference)):
        return False, "apart from the dropout rate, keep the seed model's layers, input size and widths.", ""
    return True, "", "Now compile it and train it with start_run and the same callbacks, and compare the runs."
