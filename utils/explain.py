"""Looking inside a trained network (introduced in notebook 06).

* :func:`first_layer_filters` / :func:`filters_as_images`: the kernels of the first convolution.
* :func:`feature_maps`: what chosen layers output for one image.
* :func:`grad_cam` / :func:`overlay_heatmap`: where in the image the evidence for a class is
  (Grad-CAM, Selvaraju et al. 2017: weight each channel of a convolutional layer by the mean
  gradient of the class score with respect to it, sum, keep the positive part).

The figures are drawn by :mod:`utils.plots.explain`; right and wrong validation images come
from :func:`utils.evaluate.evaluate_split`.

Works for the course's from-scratch models (Sequential or a chain of layers) and for the
transfer models of notebook 05, whose pretrained base is one nested model in the chain.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from utils.config import THRESHOLD


_SKIP_FOR_CAM = (
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling2D,
    keras.layers.Dropout,
    keras.layers.SpatialDropout2D,
)


def _chain(model: keras.Model) -> list:
    """The model's layers in call order, input layers left out."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _is_4d(layer) -> bool:
    try:
        return len(layer.output.shape) == 4
    except (AttributeError, ValueError):
        return False


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the Conv2D-like layers in call order (inside a nested base too) (notebook 06)."""
    names = []
    for layer in _chain(model):
        if isinstance(layer, keras.Model):
            names.extend(conv_layer_names(layer))
        elif isinstance(layer, keras.layers.Conv2D | keras.layers.DepthwiseConv2D | keras.layers.SeparableConv2D):
            names.append(layer.name)
    return names


def last_conv_layer_name(model: keras.Model) -> str:
    """The deepest layer with a spatial (4-D) output that is not pooling or dropout (notebook 06).

    That is Grad-CAM's usual choice: the last convolutional maps before the classifier.
    """
    for layer in reversed(_chain(model)):
        if isinstance(layer, keras.Model):
            try:
                return last_conv_layer_name(layer)
            except ValueError:
                continue
        if _is_4d(layer) and not isinstance(layer, _SKIP_FOR_CAM):
            return layer.name
    raise ValueError(f"{model.name} has no convolutional layer to explain")


def cam_layer_name(model: keras.Model, min_size: int = 8) -> str:
    """The deepest layer with spatial maps of at least ``min_size`` x ``min_size`` (not pooling or dropout) (notebook 06).

    Grad-CAM's heatmap is as coarse as its layer: the course's models end on 4x4 maps
    (5x5 at 80x80), whose few cells give blobs, so notebook 06 explains the block before instead. Falls back to
    :func:`last_conv_layer_name` when no layer is that large.
    """
    for layer in reversed(_chain(model)):
        if isinstance(layer, keras.Model):
            continue
        if _is_4d(layer) and not isinstance(layer, _SKIP_FOR_CAM) and min(layer.output.shape[1:3]) >= min_size:
            return layer.name
    return last_conv_layer_name(model)


def layers_at_depths(model: keras.Model, count: int = 3) -> list[str]:
    """``count`` layers from shallow to deep whose outputs are worth showing as feature maps (notebook 06).

    For the course's CNNs: the last layer of each Conv-Pool block (the one feeding a pooling
    layer). For a pretrained base without pooling blocks (MobileNetV2): evenly spaced ReLU
    activations, first and last included.
    """
    chain = _chain(model)
    names = [layer.name for layer, following in zip(chain, chain[1:])
             if isinstance(following, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D) and _is_4d(layer)]
    if len(names) < 2:
        _, host, _ = _locate(model, [conv_layer_names(model)[0]])
        names = [layer.name for layer in host.layers
                 if isinstance(layer, keras.layers.ReLU | keras.layers.Activation) and _is_4d(layer)]
    if len(names) <= count:
        return names
    picks = np.linspace(0, len(names) - 1, count).round().astype(int)
    return [names[i] for i in picks]


def _locate(model: keras.Model, names: list[str]):
    """Split ``model`` around the (possibly nested) model that holds the layers ``names``.

    Returns ``(before, host, after)``: layers run before ``host``, the model holding the
    layers, layers run after it. For a flat model ``before`` and ``after`` are empty.
    """
    top = {layer.name for layer in model.layers}
    if all(name in top for name in names):
        return [], model, []
    chain = _chain(model)
    for index, layer in enumerate(chain):
        if isinstance(layer, keras.Model):
            inner = _all_layer_names(layer)
            if all(name in inner for name in names):
                before, host, after = _locate(layer, names)
                return chain[:index] + before, host, after + chain[index + 1:]
    raise ValueError(f"Layers {names} are not all in one (sub)model of {model.name}")


def _all_layer_names(model: keras.Model) -> set[str]:
    names = set()
    for layer in model.layers:
        names.add(layer.name)
        if isinstance(layer, keras.Model):
            names |= _all_layer_names(layer)
    return names


def _single(inputs):
    return inputs[0] if isinstance(inputs, list | tuple) and len(inputs) == 1 else inputs


def _run(layers, x):
    for layer in layers:
        x = layer(x, training=False)
    return x


def feature_maps(model: keras.Model, image: np.ndarray, layer_names: list[str]) -> dict[str, np.ndarray]:
    """The outputs of ``layer_names`` for one image (H, W, C) as ``{name: (h, w, channels)}`` (notebook 06)."""
    images = np.asarray(image, dtype="float32")[None]
    before, host, _ = _locate(model, list(layer_names))
    probe = keras.Model(_single(host.inputs), [host.get_layer(name).output for name in layer_names])
    outputs = probe(_run(before, images), training=False)
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    return {name: np.asarray(out)[0] for name, out in zip(layer_names, outputs)}


def first_layer_filters(model: keras.Model) -> np.ndarray:
    """The kernel of the first convolution: (height, width, input channels, filters) (notebook 06)."""
    name = conv_layer_names(model)[0]
    _, host, _ = _locate(model, [name])
    return np.asarray(host.get_layer(name).kernel)


def filters_as_images(kernel: np.ndarray) -> np.ndarray:
    """Each filter scaled to [0, 1] on its own: (filters, h, w, 3 or 1) ready for ``imshow`` (notebook 06)."""
    kernel = np.moveaxis(np.asarray(kernel, dtype="float32"), -1, 0)
    low = kernel.min(axis=(1, 2, 3), keepdims=True)
    high = kernel.max(axis=(1, 2, 3), keepdims=True)
    return (kernel - low) / np.maximum(high - low, 1e-12)


def _class_score(predictions, class_index: int):
    """The score Grad-CAM differentiates: P(class) for a softmax head, P or 1-P for a sigmoid one."""
    if predictions.shape[-1] == 1:
        p = predictions[:, 0]
        return p if class_index == 1 else 1.0 - p
    return predictions[:, class_index]


def grad_cam(model: keras.Model, image: np.ndarray, class_index: int | None = None, layer_name: str | None = None
             ) -> tuple[np.ndarray, float]:
    """Grad-CAM heatmap of ``image`` (H, W, C in the model's input range) for ``class_index`` (notebook 06).

    ``class_index`` 1 = dog, 0 = cat; None explains the predicted class. Returns
    ``(heatmap, p_dog)``: the heatmap has the layer's spatial size, values in [0, 1]
    (all zero when nothing in the image speaks for the class).
    """
    layer_name = layer_name or last_conv_layer_name(model)
    before, host, after = _locate(model, [layer_name])
    probe = keras.Model(_single(host.inputs), [host.get_layer(layer_name).output, host.outputs[0]])
    images = tf.convert_to_tensor(np.asarray(image, dtype="float32")[None])
    with tf.GradientTape() as tape:
        activations, host_output = probe(_run(before, images), training=False)
        tape.watch(activations)
        predictions = _run(after, host_output)
        p_dog = float(predictions[0, -1]) if predictions.shape[-1] <= 2 else float("nan")
        if class_index is None:
            class_index = int(p_dog > THRESHOLD)
        score = _class_score(predictions, class_index)
    gradients = tape.gradient(score, activations)[0]
    weights = tf.reduce_mean(gradients, axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(activations[0] * weights, axis=-1)).numpy()
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).astype("float32"), p_dog


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, colormap: str = "jet") -> np.ndarray:
    """The image (H, W, 3 in [0, 255]) with the heatmap resized onto it in colour: floats in [0, 1] (notebook 06)."""
    import matplotlib

    image = np.asarray(image, dtype="float32")
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    size = image.shape[:2]
    resized = tf.image.resize(np.asarray(heatmap, "float32")[..., None], size, method="bilinear").numpy()[..., 0]
    colours = matplotlib.colormaps[colormap](np.clip(resized, 0, 1))[..., :3]
    return np.clip((1 - alpha) * image / 255.0 + alpha * colours, 0, 1)
