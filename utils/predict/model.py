"""The model: read from its file, the input it expects, and P(dog) from its outputs (notebook 08)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # for annotations only: importing TensorFlow is slow
    import keras
    import tensorflow as tf


class PredictionError(RuntimeError):
    """A model or image folder cannot be used; the message says what to do (notebook 08)."""


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a saved Keras model, with a clear message when the file is missing or unreadable (notebook 08).

    On a CPU without bfloat16 hardware a model saved in mixed precision comes back computing in
    float32 (:func:`utils.models.registry.in_float32`).
    """
    import keras

    path = Path(path)
    if not path.exists():
        raise PredictionError(
            f"No model file at {_shown(path)}. Train one first (notebook 03, or notebook 08 trains "
            "a small one) or pass the path of an existing models/NAME.keras."
        )
    if path.is_dir():
        raise PredictionError(f"{_shown(path)} is a folder; pass a model file such as models/NAME.keras.")
    if path.suffix not in (".keras", ".h5"):
        raise PredictionError(f"{_shown(path)} is not a Keras model file (expected NAME.keras).")
    from utils.models.transfer import custom_objects

    try:
        model = keras.models.load_model(path, compile=False, custom_objects=custom_objects())
    except Exception as error:  # Keras raises many types for a damaged file
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise PredictionError(
            f"Could not read the model {_shown(path)}: it is not a valid Keras model file ({reason}). "
            "Re-save it with model.save('models/NAME.keras') or choose another file."
        ) from error
    from utils.models.precision import for_this_cpu

    return for_this_cpu(model)  # a bfloat16 model opened on a CPU without bfloat16: its float32 copy


def model_input(model: keras.Model) -> tuple[tuple[int, int], str]:
    """``((height, width), color_mode)`` the model expects, read from ``model.input_shape`` (notebook 08)."""
    shape = model.input_shape
    if isinstance(shape, list) or len(getattr(model, "inputs", None) or [None]) > 1:
        count = len(shape) if isinstance(shape, list) else len(model.inputs)
        if count != 1:
            raise PredictionError(
                f"The model takes {count} inputs; a submission needs a model with one image input "
                "(batch, height, width, channels), like those notebooks 03-05 save."
            )
        shape = shape[0] if isinstance(shape, list) else shape
    if len(shape) != 4:
        raise PredictionError(f"The model takes inputs of shape {shape}, not images (batch, h, w, channels).")
    _, height, width, channels = shape
    if height is None or width is None:
        raise PredictionError("The model does not fix its input size; rebuild it with keras.Input((h, w, c)).")
    modes = {1: "grayscale", 3: "rgb"}
    if channels not in modes:
        raise PredictionError(f"The model expects {channels} channels; only 1 (grayscale) or 3 (rgb) are supported.")
    return (int(height), int(width)), modes[channels]


def _output_activation(model) -> str:
    activation = getattr(model.layers[-1], "activation", None) if model.layers else None
    return getattr(activation, "__name__", str(activation or "")).lower()


def dog_column(outputs: np.ndarray, activation: str = "") -> np.ndarray:
    """P(dog) from raw model outputs, for either head (notebook 08).

    A 2-unit softmax head gives (cat, dog) -> column 1; a 1-unit sigmoid head gives P(dog) in
    column 0. If the last layer has no activation (``linear``: the model outputs logits),
    the softmax or sigmoid is applied here.
    """
    out = np.asarray(outputs, dtype="float64")
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[1] not in (1, 2):
        raise PredictionError(f"Expected model outputs of shape (n, 1) or (n, 2), got {out.shape}.")
    if activation == "linear":
        if out.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-out[:, 0]))
        shifted = out - out.max(axis=1, keepdims=True)
        soft = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        return soft[:, 1]
    return out[:, 1] if out.shape[1] == 2 else out[:, 0]


def _mean_p_dog(model, views, activation: str) -> np.ndarray:
    """The mean P(dog) over ``views`` of one batch (one view: no test-time augmentation)."""
    return sum(dog_column(model.predict_on_batch(view), activation) for view in views) / len(views)


def dog_probability(model: keras.Model, images_or_dataset: np.ndarray | tf.data.Dataset, batch_size: int = 64) -> np.ndarray:
    """P(dog) for every image (an array, or a ``tf.data`` dataset of batches) (notebook 03).

    Column 1 of a 2-unit softmax head, column 0 of a 1-unit sigmoid head, logits turned into
    probabilities (:func:`dog_column`); the dtype of the model's output is kept.
    """
    import tensorflow as tf

    is_dataset = isinstance(images_or_dataset, tf.data.Dataset)
    raw = np.asarray(model.predict(images_or_dataset, batch_size=None if is_dataset else batch_size, verbose=0))
    p = dog_column(raw, _output_activation(model))
    return p.astype(raw.dtype) if np.issubdtype(raw.dtype, np.floating) else p


def batch_dog_probability(model: keras.Model, images: np.ndarray, tta: bool = True) -> np.ndarray:
    """P(dog) for one batch of images (float32 in [0, 255]); with ``tta`` the mean over the
    image and its horizontal flip (notebook 08)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images, dtype=tf.float32)
    views = (images, tf.image.flip_left_right(images)) if tta else (images,)
    return _mean_p_dog(model, views, _output_activation(model))


def _shown(path: Path) -> str:
    from utils.config import relative

    path = Path(path)
    shown = relative(path)
    return shown if shown != path.name or not path.is_absolute() else str(path)
