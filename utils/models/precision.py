"""Mixed precision for the course's models (notebook 04's last step, notebook 06, the prediction command).

:func:`compute_policy` says which Keras dtype policy a registered variant computes in on this
machine, :func:`dtype_policy` builds layers under a policy and restores the previous one, and
:func:`in_float32` turns a model trained in mixed precision into a float32 copy with the same
weights, and :func:`for_this_cpu` is what every loader of a saved model calls (the float32 copy
on a CPU without bfloat16 hardware). Whether the CPU has bfloat16 hardware is
:func:`utils.models.cost.bf16_supported`'s to say (the one owner of the CPU's flags).
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import keras

from utils.models.size import leaf_layers

if TYPE_CHECKING:
    from utils.models.registry import Variant


def compute_policy(variant: Variant) -> str:
    """The Keras dtype policy a variant's layers compute in here (notebook 04): for a variant with
    ``mixed_precision``, ``"mixed_bfloat16"`` when this CPU has bfloat16 in hardware, else
    ``"float32"``; for any other, Keras's global policy (float32 unless a script such as
    ``bench/ideas.py`` sets another)."""
    from utils.models.cost import bf16_supported

    if not variant.mixed_precision:
        return keras.mixed_precision.global_policy().name
    return "mixed_bfloat16" if bf16_supported() else "float32"


@contextlib.contextmanager
def dtype_policy(policy: str):
    """Layers created inside compute in ``policy`` (e.g. ``"mixed_bfloat16"``); the previous global
    policy comes back afterwards, so later models are not affected (notebook 04)."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def in_float32(model: keras.Model) -> keras.Model:
    """``model`` with every layer computing in float32, same weights (notebook 06 and the prediction command).

    A model trained in mixed precision keeps float32 weights, so a float32 copy computes the same
    function with more digits: what Grad-CAM's gradients need, and faster on a CPU without
    bfloat16 hardware. A model that already computes in float32 is returned as it is.
    """
    if all(layer.compute_dtype == "float32" for layer in leaf_layers(model)):
        return model

    def float32_policies(config):
        if isinstance(config, dict):
            if str(config.get("class_name", "")).endswith("DTypePolicy"):
                return {**config, "config": {**config["config"], "name": "float32"}}
            return {key: "float32" if key == "dtype" and isinstance(value, str) and value.startswith("mixed_")
                    else float32_policies(value) for key, value in config.items()}
        if isinstance(config, list):
            return [float32_policies(value) for value in config]
        return config

    from utils.models.transfer import custom_objects

    copy = keras.saving.deserialize_keras_object(float32_policies(keras.saving.serialize_keras_object(model)),
                                                 custom_objects=custom_objects())
    copy.set_weights(model.get_weights())
    left = [layer.name for layer in leaf_layers(copy) if layer.compute_dtype != "float32"]
    if left:
        raise ValueError(f"Could not make a float32 copy of {model.name!r}: {', '.join(left)} still compute in "
                         "another precision.")
    return copy


def for_this_cpu(model: keras.Model) -> keras.Model:
    """A loaded model as it should compute on this machine (the prediction command, ``load_run``).

    Trained in bfloat16 (notebook 04's ``larger_input``) on a CPU that has it and opened on one that
    has not, it comes back as its float32 copy (:func:`in_float32`, uncompiled): the same function,
    faster there than emulated bfloat16. Anywhere else the model is returned as it is.
    """
    from utils.models.cost import bf16_supported

    return model if bf16_supported() else in_float32(model)
