"""Checks for notebook 02's exercises (convolution and pooling)."""
from __future__ import annotations

from typing import Any

import numpy as np

from utils.check._report import exercise
from utils.convolution import average_pool2d, conv2d_vectorised, max_pool2d, output_size


def _diagonal_images(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.indices((n, n))
    backslash = (j > i).astype(float)  # bright top right, dark bottom left: an edge along "\"
    slash = (i + j > n - 1).astype(float)  # an edge along "/"
    return backslash, slash


@exercise("02.1")
def diagonal_kernel(kernel: Any) -> tuple[bool, str, str]:
    """A 3x3 kernel that answers "\\" edges, not "/" ones, and gives 0 on flat areas (notebook 02)."""
    kernel = np.asarray(kernel, dtype=float)
    if kernel.shape != (3, 3):
        return False, f"the kernel has shape {kernel.shape}; make it a 3x3 array.", ""
    if abs(kernel.sum()) > 1e-9:
        return False, "a flat area gives kernel.sum() times its brightness: make the weights sum to 0.", ""
    backslash, slash = _diagonal_images()
    wanted = np.abs(conv2d_vectorised(backslash, kernel)).max()
    other = np.abs(conv2d_vectorised(slash, kernel)).max()
    if wanted == 0 or wanted < 2 * other:
        return False, ("on a test image it answers '/' edges at least half as strongly as '\\' ones: weigh the "
                       "top-right corner against the bottom-left one."), ""
    return True, "", f"On test images it answers '\\' edges {wanted:.0f} and '/' edges {other:.0f}."


def _expected_shapes() -> list[tuple[int, ...]]:
    size = output_size(128, 3)  # Conv2D(32, 3), valid
    shapes = [(size, size, 32)]
    size = output_size(size, 2, 2)
    shapes.append((size, size, 32))
    size = -(-size // 2)  # Conv2D(64, 5, strides=2, padding="same"): ceil(n / s)
    shapes.append((size, size, 64))
    size = output_size(size, 3, 3)
    shapes.append((size, size, 64))
    shapes.append((size * size * 64,))
    return shapes


@exercise("02.2")
def layer_shapes(shapes: Any) -> tuple[bool, str]:
    """The five output shapes of the exercise's stack, worked out by hand (channels last, no batch) (notebook 02)."""
    names = ["Conv2D(32, 3)", "MaxPooling2D(2)", "Conv2D(64, 5, strides=2, 'same')", "MaxPooling2D(3)", "Flatten"]
    shapes = [tuple(int(d) for d in s) if isinstance(s, (tuple, list)) else (int(s),) for s in shapes]
    if len(shapes) != 5:
        return False, f"give five shapes, one per layer ({', '.join(names)}); you gave {len(shapes)}."
    for name, mine, right in zip(names, shapes, _expected_shapes()):
        if mine != right:
            return False, (f"the first shape that differs is {name}'s: use floor((n + 2p - k) / s) + 1, "
                           "with 'same' giving ceil(n / s), and a pool's stride equal to its size.")
    return True, ""


def _shift_similarities(gray: np.ndarray) -> dict[str, float]:
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)

    def edges(image):
        return np.maximum(conv2d_vectorised(image, sobel_x, padding="valid"), 0)

    size = min(144, gray.shape[0] - 3, gray.shape[1] - 3)
    original, shifted = edges(gray[:size, :size]), edges(gray[2:2 + size, 2:2 + size])
    pools = {"max 4x4": lambda m: max_pool2d(m, 4), "average 4x4": lambda m: average_pool2d(m, 4),
             "max 2x2": lambda m: max_pool2d(m, 2), "average 2x2": lambda m: average_pool2d(m, 2)}
    return {name: float(np.corrcoef(pool(original).ravel(), pool(shifted).ravel())[0, 1])
            for name, pool in pools.items()}


def _best_pooling(gray: np.ndarray, similarities: dict[str, float] | None = None) -> str:
    similarities = similarities or _shift_similarities(np.asarray(gray, dtype=float))
    return max(similarities, key=similarities.get)


@exercise("02.3")
def shift_tolerance(gray: Any, most_similar: str) -> tuple[bool, str, str]:
    """Which pooling ("max 4x4", "average 4x4", "max 2x2" or "average 2x2") changes least under a 2-pixel shift
    (notebook 02)."""
    similarities = _shift_similarities(np.asarray(gray, dtype=float))
    best = _best_pooling(gray, similarities)
    answer = " ".join(str(most_similar).lower().replace("×", "x").split())
    if answer not in similarities:
        return False, f"answer with one of: {', '.join(repr(k) for k in similarities)}.", ""
    if answer != best:
        return False, ("measure it: compute `similarity` of the pooled original and the pooled shifted map for "
                       "each of the four poolings, as in the shift experiment."), ""
    return True, "", "What it costs: how much of the map's detail does that pooling keep?"
