"""Describe a model layer by layer as ``Type(settings)``: the registry and peer-recipe tests compare these lists."""
from __future__ import annotations

import keras


def described(model) -> list[str]:
    """Each layer after the input as ``Type(settings)``, the augmentation opened up."""
    out = []
    for layer in model.layers[1:]:
        if isinstance(layer, keras.Sequential):
            out += [f"{type(inner).__name__}" for inner in layer.layers]
            continue
        kind = type(layer).__name__
        if kind == "Conv2D":
            out.append(f"Conv2D({layer.filters},{layer.kernel_size[0]},{layer.padding},{layer.activation.__name__})")
        elif kind == "MaxPooling2D":
            out.append(f"MaxPooling2D({layer.pool_size[0]})")
        elif kind == "Dense":
            out.append(f"Dense({layer.units},{layer.activation.__name__})")
        elif kind == "Dropout":
            out.append(f"Dropout({layer.rate})")
        elif kind == "Rescaling":
            out.append(f"Rescaling({layer.scale:.5f})")
        else:
            out.append(kind)
    return out
