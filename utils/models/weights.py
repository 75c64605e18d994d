"""The ImageNet weights a transfer model needs: which file, where Keras looks for it, and whether it is
there, without touching the network (notebook 05)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import keras

from utils import config

DEFAULT_BASE = "MobileNetV2"
DEFAULT_IMAGE_SIZE = 160


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


def preprocess_function(base: str) -> Callable[..., Any]:
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


def imagenet_weights_file(base: str = DEFAULT_BASE, image_size: int | tuple[int, int] = DEFAULT_IMAGE_SIZE) -> tuple[str, str]:
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


def imagenet_weights_available(base: str = DEFAULT_BASE, image_size: int | tuple[int, int] = DEFAULT_IMAGE_SIZE) -> WeightsCheck:
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


def weights_needed(step: str, base: str = DEFAULT_BASE) -> str:
    """A friendly note for a step that needs the ImageNet weights file (notebook 05).

    Says what the step would do, that it did not run here because the file is absent (not
    because something broke), and how to make it run.
    """
    return (f"Not run here: {step} needs the ImageNet weights for {base}, which are not on this machine "
            f"(nothing is wrong). To run it, place the file named in 'Find the pretrained weights' "
            f"in the Keras cache and run the notebook again.")
