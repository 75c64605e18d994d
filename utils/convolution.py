"""Convolution and pooling written out in NumPy (introduced in notebook 02).

Notebook 02 slides a kernel over a real cat photo by hand before handing the job to Keras.
The functions here are those hand-written versions, kept so later notebooks and the tests
can reuse them:

* :func:`conv2d_loop` -- the readable version: two loops over output positions.
* :func:`conv2d_vectorised` -- the same arithmetic with every window at once (fast).
* :func:`convolve2d` -- the mathematician's convolution (kernel flipped), for comparison.
* :func:`pool2d` -- max and average pooling.
* :func:`output_size`, :func:`keras_output_size`, :func:`padding_amounts` -- the arithmetic.
* :func:`receptive_fields` -- how much of the image one unit of a stack sees.
* :data:`KERNELS` -- classic hand-made 3x3 kernels and what they detect.

Deep-learning libraries (``tf.nn.conv2d``, ``keras.layers.Conv2D``) compute
*cross-correlation*: the kernel is applied as it is, not flipped. So do ``conv2d_loop`` and
``conv2d_vectorised``; the results match Keras to float precision (tests/test_convolution.py).

Shapes follow Keras' ``channels_last`` layout: an image is ``(height, width)`` or
``(height, width, channels)``; a kernel is ``(kh, kw)`` or ``(kh, kw, in_channels, filters)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

PADDINGS = ("valid", "same")


# --- arithmetic ---------------------------------------------------------------------------

def output_size(n: int, k: int, s: int = 1, p: int = 0) -> int:
    """Output length of a convolution or pooling: ``floor((n + 2p - k) / s) + 1`` (notebook 02).

    ``n`` input length, ``k`` window (kernel) length, ``s`` stride, ``p`` zeros added on
    *each* side.
    """
    if n + 2 * p < k:
        raise ValueError(f"A window of {k} does not fit in {n} pixels with padding {p}.")
    if s < 1:
        raise ValueError(f"The stride must be at least 1, not {s}.")
    return (n + 2 * p - k) // s + 1


def padding_amounts(n: int, k: int, s: int = 1, padding: str = "valid") -> tuple[int, int]:
    """Zeros added (before, after) along one axis by Keras' ``padding="valid"|"same"`` (notebook 02).

    ``same`` makes ``ceil(n / s)`` outputs; when the padding needed is odd, TensorFlow puts
    the extra zero at the end (bottom/right).
    """
    padding = _check_padding(padding)
    if padding == "valid":
        return 0, 0
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def keras_output_size(n: int, k: int, s: int = 1, padding: str = "valid") -> int:
    """Output length a Keras ``Conv2D``/``MaxPooling2D`` layer produces along one axis (notebook 02)."""
    before, after = padding_amounts(n, k, s, padding)
    return (n + before + after - k) // s + 1


def _check_padding(padding: str) -> str:
    padding = str(padding).lower()
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', not {padding!r}.")
    return padding


def _pair(value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


# --- convolution --------------------------------------------------------------------------

def _prepare(image, kernel):
    """Promote a 2-D image/kernel to (H, W, C) / (kh, kw, C, F); remember to squeeze back."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    squeeze = image.ndim == 2 and kernel.ndim == 2
    if image.ndim == 2:
        image = image[:, :, None]
    if kernel.ndim == 2:
        kernel = np.repeat(kernel[:, :, None, None], image.shape[2], axis=2)
    if image.ndim != 3 or kernel.ndim != 4:
        raise ValueError(
            "Expected an image (H, W) or (H, W, C) and a kernel (kh, kw) or (kh, kw, C, filters); "
            f"got {image.shape} and {kernel.shape}."
        )
    if kernel.shape[2] != image.shape[2]:
        raise ValueError(
            f"The kernel expects {kernel.shape[2]} input channels but the image has {image.shape[2]}."
        )
    return image, kernel, squeeze


def pad_image(image: np.ndarray, kernel_size: int | tuple[int, int], strides: int | tuple[int, int] = 1,
              padding: str = "valid", value: float = 0.0) -> np.ndarray:
    """The image with the zeros Keras would add for ``padding`` (a 2-D or 3-D array) (notebook 02)."""
    image = np.asarray(image)
    (kh, kw), (sh, sw) = _pair(kernel_size), _pair(strides)
    top, bottom = padding_amounts(image.shape[0], kh, sh, padding)
    left, right = padding_amounts(image.shape[1], kw, sw, padding)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, constant_values=value)


def conv2d_loop(image: np.ndarray, kernel: np.ndarray, strides: int | tuple[int, int] = 1,
                padding: str = "valid") -> np.ndarray:
    """Cross-correlate ``image`` with ``kernel`` the slow, readable way (what Conv2D computes) (notebook 02).

    For every output position: cut out the window under the kernel, multiply element by
    element, add everything up. No bias, no activation. Returns (H', W') for a 2-D image and
    kernel, else (H', W', filters).
    """
    image, kernel, squeeze = _prepare(image, kernel)
    kh, kw = kernel.shape[:2]
    sh, sw = _pair(strides)
    padded = pad_image(image, (kh, kw), (sh, sw), padding)
    out_h = (padded.shape[0] - kh) // sh + 1
    out_w = (padded.shape[1] - kw) // sw + 1
    out = np.zeros((out_h, out_w, kernel.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[i * sh:i * sh + kh, j * sw:j * sw + kw, :]  # (kh, kw, C)
            for f in range(kernel.shape[3]):
                out[i, j, f] = np.sum(window * kernel[:, :, :, f])
    return out[:, :, 0] if squeeze else out


def windows(image: np.ndarray, window_size: int | tuple[int, int], strides: int | tuple[int, int] = 1) -> np.ndarray:
    """Every window of ``image`` at once: (H', W', kh, kw) or (H', W', C, kh, kw) -- a view, no copy (notebook 02)."""
    kh, kw = _pair(window_size)
    sh, sw = _pair(strides)
    view = np.lib.stride_tricks.sliding_window_view(np.asarray(image), (kh, kw), axis=(0, 1))
    return view[::sh, ::sw]


def conv2d_vectorised(image: np.ndarray, kernel: np.ndarray, strides: int | tuple[int, int] = 1,
                      padding: str = "valid") -> np.ndarray:
    """Same result as :func:`conv2d_loop`, computed for all windows in one ``einsum`` call (notebook 02)."""
    image, kernel, squeeze = _prepare(image, kernel)
    kh, kw = kernel.shape[:2]
    padded = pad_image(image, (kh, kw), strides, padding)
    out = np.einsum("ijcab,abcf->ijf", windows(padded, (kh, kw), strides), kernel, optimize=True)
    return out[:, :, 0] if squeeze else out


def convolve2d(image: np.ndarray, kernel: np.ndarray, strides: int | tuple[int, int] = 1,
               padding: str = "valid") -> np.ndarray:
    """True (textbook) convolution: the kernel is flipped left-right and up-down first (notebook 02).

    It equals :func:`conv2d_vectorised` only for symmetric kernels. A network learns its
    kernels, so it does not matter which of the two it computes -- it learns the flipped one.
    """
    kernel = np.asarray(kernel)
    return conv2d_vectorised(image, kernel[::-1, ::-1], strides, padding)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), element by element: negative responses become 0 (notebook 02)."""
    return np.maximum(np.asarray(x), 0)


# --- pooling ------------------------------------------------------------------------------

def pool2d(x: np.ndarray, pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None,
           padding: str = "valid", mode: str = "max") -> np.ndarray:
    """Max or average pooling of a (H, W) or (H, W, C) array, as Keras' pooling layers do it (notebook 02).

    ``strides`` defaults to ``pool_size`` (windows side by side, no overlap). With
    ``padding="same"`` the padded cells never win a max and are left out of an average.
    """
    if mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', not {mode!r}.")
    x = np.asarray(x, dtype=np.float64)
    ph, pw = _pair(pool_size)
    strides = _pair(pool_size if strides is None else strides)
    if mode == "max":
        padded = pad_image(x, (ph, pw), strides, padding, value=-np.inf)
        return windows(padded, (ph, pw), strides).max(axis=(-2, -1))
    padded = pad_image(x, (ph, pw), strides, padding, value=np.nan)
    return np.nanmean(windows(padded, (ph, pw), strides), axis=(-2, -1))


def max_pool2d(x: np.ndarray, pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None,
               padding: str = "valid") -> np.ndarray:
    """Keep the strongest response in each window (``keras.layers.MaxPooling2D``) (notebook 02)."""
    return pool2d(x, pool_size, strides, padding, "max")


def average_pool2d(x: np.ndarray, pool_size: int | tuple[int, int] = 2,
                   strides: int | tuple[int, int] | None = None, padding: str = "valid") -> np.ndarray:
    """Keep the mean response of each window (``keras.layers.AveragePooling2D``) (notebook 02)."""
    return pool2d(x, pool_size, strides, padding, "average")


# --- receptive field ----------------------------------------------------------------------

@dataclass(frozen=True)
class ReceptiveField:
    """What one unit after a layer sees of the input image (notebook 02)."""

    layer: str
    size: int  # pixels across seen by one unit
    jump: int  # input pixels between two neighbouring units (product of the strides)


def receptive_fields(layers: Iterable[tuple[str, int, int]]) -> list[ReceptiveField]:
    """Receptive field after each ``(name, kernel_size, stride)`` layer of a stack (notebook 02).

    Each layer adds ``(k - 1) * jump`` pixels to what one unit sees, where ``jump`` is how far
    apart (in input pixels) the units of the previous layer are.
    """
    size, jump, result = 1, 1, []
    for name, k, s in layers:
        size += (k - 1) * jump
        jump *= s
        result.append(ReceptiveField(name, size, jump))
    return result


# --- classic kernels ----------------------------------------------------------------------

KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "vertical edges": np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float),
    "horizontal edges": np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=float),
    "Sobel x": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float),
    "Sobel y": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=float),
    "blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
}

KERNEL_DESCRIPTIONS: dict[str, str] = {
    "identity": "copies the image: the 1 in the middle picks the centre pixel",
    "vertical edges": "responds where brightness changes from left to right",
    "horizontal edges": "responds where brightness changes from top to bottom",
    "Sobel x": "vertical edges, weighting the centre row more (less noisy)",
    "Sobel y": "horizontal edges, weighting the centre column more",
    "blur": "averages the 3x3 neighbourhood: smooths noise and fine detail",
    "sharpen": "boosts a pixel against its neighbours: edges stand out",
}


def to_grayscale(rgb: np.ndarray) -> np.ndarray:
    """Luminance of an (H, W, 3) RGB array (ITU-R BT.601 weights, as tf.image.rgb_to_grayscale) (notebook 02)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) RGB image, got shape {rgb.shape}.")
    return rgb @ np.array([0.2989, 0.5870, 0.1140])


def busiest_window(gray: np.ndarray, size: int) -> tuple[int, int]:
    """(top, left) of the ``size`` x ``size`` square of a grayscale image with the most edges.

    Notebook 02 uses it to zoom in on a part of the photo where a kernel has something to find
    (an eye or a whisker rather than a patch of plain fur).
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or min(gray.shape) < max(size, 3):
        raise ValueError(f"Expected a 2-D grayscale image of at least {max(size, 3)} pixels, got {gray.shape}.")
    edges = np.abs(conv2d_vectorised(gray, KERNELS["Sobel x"], padding="same"))
    edges += np.abs(conv2d_vectorised(gray, KERNELS["Sobel y"], padding="same"))
    step = max(size // 2, 1)
    energy = windows(edges, size, step).sum(axis=(-2, -1))
    i, j = np.unravel_index(np.argmax(energy), energy.shape)
    return int(i * step), int(j * step)
