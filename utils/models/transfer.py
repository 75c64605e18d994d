"""Transfer learning from an ImageNet base (introduced in notebook 05).

* :func:`imagenet_weights_available` says, without touching the network, whether Keras will
  find the pretrained weights in its cache, and if not exactly which file to place where.
* :func:`build_transfer_model` puts a frozen ``keras.applications`` base (MobileNetV2 at
  160x160 by default) between its own ``preprocess_input`` and a small head, so the model takes
  the pipeline's [0, 255] images like every other model in the course.
* :func:`compute_features` (:mod:`utils.models.features`) runs the frozen base once per image (optionally on a few augmented
  copies); :func:`train_head_on_features` then trains only the head on those cached vectors,
  which is what makes feature extraction fast on a CPU.
* :func:`unfreeze_top` prepares fine-tuning: the top layers of the base become trainable, the
  learning rate drops, and BatchNormalization keeps running in inference mode.

About that last point in Keras 3: the base is called with ``training=False`` (as the Keras
transfer-learning guide does), but ``fit`` calls the outer model with ``training=True`` and
that value replaces the one recorded in the graph (keras-team/keras#20285). What really keeps
a BatchNormalization layer in inference mode is ``layer.trainable = False``: Keras 3 then
always normalises with the moving statistics. So :func:`unfreeze_top` leaves those layers
frozen, and the tests check that the moving statistics do not move during fine-tuning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras
import numpy as np

from utils.models.features import (cached_features, compute_features, feature_cache_name, feature_dataset,
                                   split_features)
from utils.models.mobilenet_v2 import mobilenet_v2_blocks, plot_mobilenet_v2
from utils.models.weights import (DEFAULT_BASE, DEFAULT_IMAGE_SIZE, IMAGENET_NO_TOP_WEIGHTS, MOBILENET_V2_SIZES,
                                  WeightsCheck, WeightsUnavailable, _application, _input_shape,
                                  imagenet_weights_available, imagenet_weights_file, keras_cache_dir,
                                  preprocess_function, weights_needed)

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [  # the names notebooks and tests import from here, wherever they are defined
    "DEFAULT_BASE", "DEFAULT_IMAGE_SIZE", "IMAGENET_NO_TOP_WEIGHTS", "MOBILENET_V2_SIZES", "BasePreprocessing",
    "TransferModel", "WeightsCheck", "WeightsUnavailable", "batchnorm_layers", "build_transfer_model",
    "cached_features", "compile_binary", "compute_features", "custom_objects", "feature_cache_name",
    "feature_dataset", "imagenet_weights_available", "imagenet_weights_file", "keras_cache_dir",
    "mobilenet_v2_blocks", "moving_statistics", "plot_mobilenet_v2", "preprocess_function", "split_features",
    "trainable_summary", "unfreeze_top", "weights_needed",
]


@keras.saving.register_keras_serializable(package="catsdogs")
class BasePreprocessing(keras.layers.Layer):
    """Applies a ``keras.applications`` base's own ``preprocess_input`` to [0, 255] images (notebook 05)."""

    def __init__(self, base: str = DEFAULT_BASE, **kwargs):
        super().__init__(**kwargs)
        self.base = base
        self._fn = preprocess_function(base)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._fn(keras.ops.cast(inputs, "float32"))

    def get_config(self) -> dict:
        return {**super().get_config(), "base": self.base}


def custom_objects() -> dict:
    """The course's own layers a saved model may hold, for ``keras.models.load_model(..., custom_objects=...)``
    (notebook 05)."""
    return {"catsdogs>BasePreprocessing": BasePreprocessing, "BasePreprocessing": BasePreprocessing}


@dataclass
class TransferModel:
    """The parts of a transfer model; all share the same layer objects (and weights) (notebook 05).

    ``model``: images in [0, 255] -> P(dog). ``base``: the pretrained network.
    ``features``: images -> pooled base features (what gets cached). ``head``: features -> P(dog).
    """

    model: keras.Model
    base: keras.Model
    features: keras.Model
    head: keras.Model
    base_name: str
    image_size: tuple[int, int]


def build_transfer_model(
    base: str = DEFAULT_BASE,
    image_size: int | tuple[int, int] = DEFAULT_IMAGE_SIZE,
    weights: str | None = "imagenet",
    dropout: float = 0.2,
    learning_rate: float = 1e-3,
    allow_download: bool = False,
    name: str | None = None,
) -> TransferModel:
    """A frozen ``keras.applications`` base with its preprocessing and a one-unit sigmoid head (notebook 05).

    ``weights="imagenet"`` loads the pretrained weights from Keras' cache; if the file is not
    there a :class:`WeightsUnavailable` error says which file to place where (unless
    ``allow_download=True``, which lets Keras fetch it). ``weights=None`` gives a randomly
    initialised base (for tests and to show the mechanics, never for accuracy).
    """
    shape = _input_shape(image_size)
    constructor = _application(base)
    if weights == "imagenet" and not allow_download:
        check = imagenet_weights_available(base, shape[:2])
        if not check:
            raise WeightsUnavailable(check.message)
    backbone = constructor(include_top=False, weights=weights, input_shape=shape)
    backbone.trainable = False

    inputs = keras.Input(shape, name="image")
    x = BasePreprocessing(base, name="preprocess")(inputs)
    x = backbone(x, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    drop = keras.layers.Dropout(dropout, name="head_dropout")
    dense = keras.layers.Dense(1, activation="sigmoid", name="dog_probability")
    outputs = dense(drop(pooled))
    model = keras.Model(inputs, outputs, name=name or f"transfer_{base.lower()}_{shape[0]}")
    features = keras.Model(inputs, pooled, name=f"{base.lower()}_features")

    feature_input = keras.Input((pooled.shape[-1],), name="features")
    head = keras.Model(feature_input, dense(drop(feature_input)), name="head")
    compile_binary(model, learning_rate)
    compile_binary(head, learning_rate)
    return TransferModel(model, backbone, features, head, base, shape[:2])


def compile_binary(model: keras.Model, learning_rate: float) -> keras.Model:
    """Adam, binary cross-entropy on the sigmoid P(dog), accuracy (notebook 05)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


# --------------------------------------------------------------------------- fine-tuning


def batchnorm_layers(model: keras.Model) -> list:
    """Every BatchNormalization layer inside ``model`` (nested models included) (notebook 05)."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


def unfreeze_top(
    parts: TransferModel, n_layers: int = 30, learning_rate: float = 1e-5, freeze_batchnorm: bool = True
) -> keras.Model:
    """Make the top ``n_layers`` of the base trainable and recompile with a low learning rate (notebook 05).

    With ``freeze_batchnorm`` (the default) the BatchNormalization layers stay frozen, so they
    keep normalising with their ImageNet statistics instead of those of each small batch.
    ``freeze_batchnorm=False`` reproduces the pitfall notebook 05 explains: during ``fit`` they
    switch to batch statistics and overwrite their moving averages.
    """
    base = parts.base
    base.trainable = True
    cut = max(0, len(base.layers) - int(n_layers))
    for index, layer in enumerate(base.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = index >= cut and not (freeze_batchnorm and is_bn)
    return compile_binary(parts.model, learning_rate)


def trainable_summary(model: keras.Model) -> dict:
    """Numbers of trainable and frozen parameters, to show what fine-tuning unfroze (notebook 05)."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"trainable": trainable, "frozen": frozen}


def moving_statistics(model: keras.Model) -> list[np.ndarray]:
    """The moving means and variances of every BatchNormalization layer (to check they stay put) (notebook 05)."""
    stats = []
    for layer in batchnorm_layers(model):
        stats.append(np.array(layer.moving_mean))
        stats.append(np.array(layer.moving_variance))
    return stats
