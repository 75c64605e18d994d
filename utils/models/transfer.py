"""Transfer learning from an ImageNet base (introduced in notebook 05).

* :func:`imagenet_weights_available` says, without touching the network, whether Keras will
  find the pretrained weights in its cache, and if not exactly which file to place where.
* :func:`build_transfer_model` puts a frozen ``keras.applications`` base (MobileNetV2 at
  160x160 by default) between its own ``preprocess_input`` and a small head, so the model takes
  the pipeline's [0, 255] images like every other model in the course.
* :func:`compute_features` runs the frozen base once per image (optionally on a few augmented
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

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import keras
import numpy as np

from utils import config
from utils.config import SEED

DEFAULT_BASE = "MobileNetV2"
DEFAULT_IMAGE_SIZE = 160


# --------------------------------------------------------------------------- weights on disk


class WeightsUnavailable(RuntimeError):
    """ImageNet weights are not in Keras' cache and downloading was not allowed (notebook 05)."""


#: The no-top ImageNet weights each base loads: (file name, folder URL), as in ``keras.applications``.
#: MobileNetV2's file depends on the input size ({size}: 96, 128, 160, 192 or 224; Keras uses 224 otherwise).
IMAGENET_NO_TOP_WEIGHTS = {
    "MobileNetV2": ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
                    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"),
    "ResNet50": ("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"),
    "EfficientNetB0": ("efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/"),
}
MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)


def _application(base: str):
    """The ``keras.applications`` constructor called ``base`` (e.g. "MobileNetV2", "ResNet50")."""
    constructor = getattr(keras.applications, base, None)
    if constructor is None or not callable(constructor):
        known = sorted(n for n in dir(keras.applications) if n[:1].isupper())
        raise ValueError(
            f"Unknown base {base!r}: choose one of keras.applications' models, e.g. {', '.join(known[:8])}, ..."
        )
    return constructor


def preprocess_function(base: str):
    """The ``preprocess_input`` that belongs to ``base``: ``keras.applications.<its module>.preprocess_input`` (notebook 05)."""
    constructor = _application(base)
    module = getattr(keras.applications, constructor.__module__.rsplit(".", 1)[-1])
    return module.preprocess_input


def _input_shape(image_size) -> tuple[int, int, int]:
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    return (int(image_size[0]), int(image_size[1]), 3)


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded models: ``$KERAS_HOME/models`` or ``~/.keras/models`` (notebook 05).

    Mirrors ``keras.utils.get_file``: when the Keras home is not writable it uses ``/tmp/.keras``.
    """
    base = config.keras_home()
    if not os.access(base, os.W_OK):
        base = Path("/tmp", ".keras")
    return base / "models"


def imagenet_weights_file(base: str = DEFAULT_BASE, image_size=DEFAULT_IMAGE_SIZE) -> tuple[str, str]:
    """``(file name, URL)`` of the no-top ImageNet weights Keras loads for this base and size (notebook 05).

    Read from :data:`IMAGENET_NO_TOP_WEIGHTS` (e.g. MobileNetV2 at 160:
    ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5``).
    """
    _application(base)  # a clear message for a name keras.applications does not know
    if base not in IMAGENET_NO_TOP_WEIGHTS:
        raise ValueError(f"No weights file is listed for {base!r}: add its name and URL to "
                         f"IMAGENET_NO_TOP_WEIGHTS in utils/models/transfer.py (known: {', '.join(IMAGENET_NO_TOP_WEIGHTS)}).")
    height, width, _ = _input_shape(image_size)
    size = height if height == width and height in MOBILENET_V2_SIZES else 224
    name, folder = IMAGENET_NO_TOP_WEIGHTS[base]
    name = name.format(size=size)
    return name, folder + name


@dataclass
class WeightsCheck:
    """Whether the ImageNet weights are on disk, and what to do if not. True when available (notebook 05)."""

    base: str
    file_name: str
    origin: str
    expected_path: Path
    available: bool
    message: str = field(repr=False)

    def __bool__(self) -> bool:
        return self.available


def imagenet_weights_available(base: str = DEFAULT_BASE, image_size=DEFAULT_IMAGE_SIZE) -> WeightsCheck:
    """Look for the exact weights file Keras would load, without any network access (notebook 05)."""
    file_name, origin = imagenet_weights_file(base, image_size)
    folder = keras_cache_dir()
    path = folder / file_name
    available = path.is_file() and path.stat().st_size > 0
    if available:
        message = f"ImageNet weights for {base} found: {path.name} in the Keras cache ({_show_dir(folder)})."
    else:
        message = (
            f"ImageNet weights for {base} at {_input_shape(image_size)[0]}x{_input_shape(image_size)[1]} are not in "
            f"the Keras cache, and nothing here downloads them without being asked.\n"
            f"  file:      {file_name}\n"
            f"  from:      {origin}\n"
            f"  place in:  {_show_dir(folder)}/  (set KERAS_HOME to use another folder: <KERAS_HOME>/models/)\n"
            f"With internet access, `keras.applications.{base}(include_top=False, "
            f"input_shape={_input_shape(image_size)})` downloads it to that folder; without, download it on "
            f"another machine and copy it there."
        )
    return WeightsCheck(base, file_name, origin, path, available, message)


def _show_dir(folder: Path) -> str:
    """The cache folder as a learner would type it (~ for the home folder, no other local path)."""
    folder = Path(folder)
    home = Path.home()
    try:
        return "~/" + folder.relative_to(home).as_posix()
    except ValueError:
        if config.keras_home_set():
            return "$KERAS_HOME/" + folder.name
        return folder.as_posix()


# --------------------------------------------------------------------------- the model


@keras.saving.register_keras_serializable(package="catsdogs")
class BasePreprocessing(keras.layers.Layer):
    """Applies a ``keras.applications`` base's own ``preprocess_input`` to [0, 255] images (notebook 05)."""

    def __init__(self, base: str = DEFAULT_BASE, **kwargs):
        super().__init__(**kwargs)
        self.base = base
        self._fn = preprocess_function(base)

    def call(self, inputs):
        return self._fn(keras.ops.cast(inputs, "float32"))

    def get_config(self):
        return {**super().get_config(), "base": self.base}


def custom_objects() -> dict:
    """The course's own layers a saved model may hold, for ``keras.models.load_model(..., custom_objects=...)``."""
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
    image_size=DEFAULT_IMAGE_SIZE,
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


# --------------------------------------------------------------------------- feature caching


def compute_features(features: keras.Model, dataset, augment=None, copies: int = 1, description="base features",
                     show_progress: bool = True):
    """Run ``features`` over every batch of ``(images, labels)`` once; returns ``(X, y)`` arrays (notebook 05).

    With ``augment`` (a Keras layer/model applied with ``training=True``) and ``copies=k``, each
    image is seen ``k`` times with different random changes: ``k`` times the cost, done once.
    ``show_progress=False`` draws no progress bar (for a few batches it is only noise).
    """
    from utils.progress import progress

    xs, ys = [], []
    for copy in range(copies):
        batches = progress(dataset, desc=f"{description} ({copy + 1}/{copies})", unit="batch") if show_progress \
            else dataset
        for images, labels in batches:
            if augment is not None:
                images = augment(images, training=True)
            xs.append(np.asarray(features(images, training=False)))
            ys.append(np.asarray(labels))
    return np.concatenate(xs).astype("float32"), np.concatenate(ys)


def cached_features(features: keras.Model, dataset, path: Path | str, **kwargs):
    """:func:`compute_features`, stored in ``path`` (.npz) and read back on the next call (notebook 05)."""
    path = Path(path)
    if path.is_file():
        with np.load(path) as stored:
            return stored["x"], stored["y"]
    x, y = compute_features(features, dataset, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, x=x, y=y)
    tmp.replace(path)
    return x, y


def feature_dataset(x, y, batch_size: int = 64, shuffle: bool = False, seed: int = SEED):
    """A ``tf.data`` pipeline of cached feature vectors (what the head trains on) (notebook 05)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


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


# --------------------------------------------------------------------------- runs on the data set


def feature_cache_name(base_name: str, image_size, weights_label: str, split: str, paths: Iterable[str],
                       copies: int | None = None) -> str:
    """The file name of a split's cached features: base, size, weights, split, augmentation (``copies``,
    None for none) and a digest of the exact list of images, in order (notebook 05)."""
    import hashlib

    digest = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:10]
    tag = "plain" if copies is None else f"aug{copies}"
    return f"{base_name.lower()}-{image_size[0]}-{weights_label}-{split}-{tag}-{digest}.npz"


def split_features(parts: TransferModel, frame, split: str, batch_size: int = 32, augment=None, copies: int = 1,
                   weights_label: str = "imagenet", cache_dir: Path | str | None = None):
    """Cached base features ``(x, y)`` of one split of a manifest, in manifest order (notebook 05).

    Stored under ``data/features/`` keyed by base, size, weights, split, augmentation and the
    exact list of images, so a second run (or a changed manifest) never reads stale vectors.
    """
    from utils.data.pipeline import make_dataset

    rows = frame[frame["split"] == split]
    name = feature_cache_name(parts.base_name, parts.image_size, weights_label, split, rows["path"],
                              copies if augment is not None else None)
    folder = Path(cache_dir) if cache_dir is not None else config.data_dir() / "features"
    ds = make_dataset(rows, image_size=parts.image_size, batch_size=batch_size, shuffle=False, with_labels=True)
    return cached_features(parts.features, ds, folder / name, augment=augment,
                           copies=copies if augment is not None else 1, description=f"{split} features")


# --------------------------------------------------------------------------- without the weights


def weights_needed(step: str, base: str = DEFAULT_BASE) -> str:
    """A friendly note for a step that needs the ImageNet weights file (notebook 05).

    Says what the step would do, that it did not run here because the file is absent (not
    because something broke), and how to make it run.
    """
    return (f"Not run here: {step} needs the ImageNet weights for {base}, which are not on this machine "
            f"(nothing is wrong). To run it, place the file named in 'Find the pretrained weights' "
            f"in the Keras cache and run the notebook again.")


# --------------------------------------------------------------------------- the architecture


def mobilenet_v2_blocks(base: keras.Model):
    """MobileNetV2's stages as a table, read from a built base (notebook 05).

    One row per stage: the first 3x3 convolution, the 17 inverted-residual blocks
    (``expanded_conv`` and ``block_1`` ... ``block_16``), the last 1x1 convolution. Columns:
    ``stage``, ``stride`` (of its 3x3 layer), ``expanded`` (channels inside the block, after the
    1x1 expansion), ``out_size`` (height of its output), ``out_channels``, ``residual`` (whether
    the block adds its input to its output) and ``params``.
    """
    import pandas as pd

    by_name = {layer.name: layer for layer in base.layers}

    def params(prefix):
        return int(sum(layer.count_params() for layer in base.layers
                       if layer.name == prefix or layer.name.startswith(prefix + "_")))

    rows = []
    input_shape = base.input.shape
    rows.append({"stage": "input", "stride": 1, "expanded": 0, "out_size": int(input_shape[1]),
                 "out_channels": int(input_shape[3]), "residual": False, "params": 0})
    conv1 = by_name["Conv1"]
    rows.append({"stage": "Conv1 3x3", "stride": int(conv1.strides[0]), "expanded": 0,
                 "out_size": int(conv1.output.shape[1]), "out_channels": int(conv1.output.shape[3]),
                 "residual": False, "params": params("Conv1") + params("bn_Conv1")})
    blocks = ["expanded_conv"] + [f"block_{i}" for i in range(1, 40) if f"block_{i}_depthwise" in by_name]
    for block in blocks:
        depthwise = by_name[f"{block}_depthwise"]
        project = by_name[f"{block}_project_BN"]
        rows.append({"stage": block, "stride": int(depthwise.strides[0]),
                     "expanded": int(depthwise.output.shape[3]), "out_size": int(project.output.shape[1]),
                     "out_channels": int(project.output.shape[3]), "residual": f"{block}_add" in by_name,
                     "params": params(block)})
    last = by_name["Conv_1"]
    rows.append({"stage": "Conv_1 1x1", "stride": 1, "expanded": 0, "out_size": int(last.output.shape[1]),
                 "out_channels": int(last.output.shape[3]), "residual": False,
                 "params": params("Conv_1")})
    table = pd.DataFrame(rows)
    if table["params"].sum() != base.count_params():
        raise AssertionError("the stages do not add up to the base's parameters")
    return table


def plot_mobilenet_v2(table, head=("global average pooling", "dropout", "Dense(1), sigmoid: P(dog)")):
    """MobileNetV2 as drawn from :func:`mobilenet_v2_blocks`, plus this course's head (notebook 05).

    One bar per stage: its height is the number of output channels (log scale), its colour the
    size of its output grid; stride-2 stages (which halve the grid) are outlined in black and
    residual blocks marked with a "+". The head (grey) follows.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    sizes = sorted(table["out_size"].unique(), reverse=True)
    colours = dict(zip(sizes, plt.cm.viridis(np.linspace(0.05, 0.9, len(sizes)))))
    fig, ax = plt.subplots(figsize=(11, 4.6), dpi=100)
    labels = []
    for i, row in enumerate(table.itertuples()):
        ax.bar(i, row.out_channels, color=colours[row.out_size], edgecolor="black" if row.stride == 2 else "none",
               linewidth=1.6)
        top = row.out_channels * 1.08
        ax.text(i, top, f"{row.out_channels}" + (" +" if row.residual else ""), ha="center", fontsize=7)
        if row.expanded:
            ax.plot(i, row.expanded, marker="_", markersize=10, color="tab:red")
        labels.append(row.stage)  # the same names as the table mobilenet_v2_blocks returns
    channels = int(table["out_channels"].iloc[-1])
    head_heights = [channels, channels, 1]
    for k, (name, height) in enumerate(zip(head, head_heights)):
        i = len(table) + k
        ax.bar(i, max(height, 1), color="lightgrey", edgecolor="grey")
        ax.text(i, max(height, 1) * 1.08, str(height), ha="center", fontsize=7)
        labels.append(name.split(",")[0].replace("global average pooling", "pool").replace("Dense(1)", "dense"))
    ax.set_yscale("log")
    ax.set_ylim(0.8, table[["out_channels", "expanded"]].to_numpy().max() * 2.5)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, fontsize=8)
    ax.set_ylabel("channels (log scale)")
    ax.set_title(f"MobileNetV2 at {int(table['out_size'].iloc[0])}x{int(table['out_size'].iloc[0])}, "
                 f"then this course's head (grey)", fontsize=11)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=colours[s], label=f"{s}x{s} grid") for s in sizes]
    handles += [Patch(facecolor="white", edgecolor="black", linewidth=1.6, label="stride 2: halves the grid"),
                Line2D([], [], color="tab:red", marker="_", linestyle="none", markersize=10,
                       label="channels inside the block (expanded)"),
                Patch(color="lightgrey", label="head: trained here")]
    ax.legend(handles=handles, fontsize=7, ncol=2, loc="upper left")
    ax.text(0.99, 0.97, "+ : residual block (input added to output)", transform=ax.transAxes, ha="right",
            va="top", fontsize=8)
    fig.tight_layout()
    return fig
