"""The sliding window of a convolution, as a strip of steps or an animation (notebook 02)."""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from utils import convolution as conv
from utils.plots.pixels import CELL_COLOUR, WINDOW_COLOUR, pixel_grid, update_grid


def slide_panels(axes: Sequence[Axes], image: np.ndarray, kernel: np.ndarray, feature_map: np.ndarray,
                 strides: int = 1) -> Callable[[int], list]:
    """Draw the three panels of the slide once; return ``update(step)`` that moves to a step (notebook 02).

    Left: the input with the window; middle: window x kernel, whose sum is the new value;
    right: the feature map filled up to the current cell.
    """
    kh, kw = kernel.shape
    out_w = feature_map.shape[1]
    products_limit = np.abs(conv.windows(image, (kh, kw), strides) * kernel).max() or 1
    map_limit = np.abs(feature_map).max() or 1
    pixel_grid(image, axes[0], "input and window", vmin=0, vmax=255, fontsize=6)
    window = Rectangle((-0.5, -0.5), kw, kh, fill=False, color=WINDOW_COLOUR, lw=2.5)
    axes[0].add_patch(window)
    pixel_grid(np.zeros((kh, kw)), axes[1], "", cmap="RdBu_r", vmin=-products_limit, vmax=products_limit)
    pixel_grid(np.full(feature_map.shape, np.nan), axes[2], "feature map", cmap="RdBu_r",
               vmin=-map_limit, vmax=map_limit, fontsize=6)
    cell = Rectangle((-0.5, -0.5), 1, 1, fill=False, color=CELL_COLOUR, lw=2.5)
    axes[2].add_patch(cell)
    for ax in axes:  # no tick labels: fewer texts to draw per frame
        ax.set_xticks([])
        ax.set_yticks([])

    def update(step):
        i, j = divmod(step, out_w)
        top, left = i * strides, j * strides
        window.set_xy((left - 0.5, top - 0.5))
        products = image[top:top + kh, left:left + kw] * kernel
        update_grid(axes[1], products)
        axes[1].set_title(f"window x kernel, sum = {products.sum():.0f}", fontsize=10)
        filled = np.full(feature_map.shape, np.nan)
        filled.flat[:step + 1] = feature_map.flat[:step + 1]
        update_grid(axes[2], filled)
        cell.set_xy((j - 0.5, i - 0.5))
        return [window, cell, *axes[1].texts, *axes[2].texts, axes[1].images[0], axes[2].images[0]]

    return update


def plot_sliding_window_sequence(image: np.ndarray, kernel: np.ndarray, steps: Sequence[int], strides: int = 1) -> Figure:
    """A static strip of steps of the slide (one row per step): works everywhere, even on GitHub (notebook 02)."""
    feature_map = conv.conv2d_loop(image, kernel, strides)
    fig, axes = plt.subplots(len(steps), 3, figsize=(8, 2.7 * len(steps)), squeeze=False)
    for row, step in zip(axes, steps):
        slide_panels(row, image, kernel, feature_map, strides)(step)
        row[0].set_ylabel(f"step {step + 1}", fontsize=10)
    fig.tight_layout()
    return fig


def sliding_window_animation(image: np.ndarray, kernel: np.ndarray, strides: int = 1, max_frames: int = 40,
                             dpi: int = 100, interval: int = 500) -> str:
    """The slide as an HTML/JavaScript player (``FuncAnimation.to_jshtml``): returns the HTML (notebook 02)."""
    feature_map = conv.conv2d_loop(image, kernel, strides)
    frames = min(feature_map.size, max_frames)
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6), dpi=dpi)
    update = slide_panels(axes, image, kernel, feature_map, strides)
    fig.tight_layout()
    anim = animation.FuncAnimation(fig, update, frames=frames, interval=interval, blit=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return html
