"""Figures for notebook 02 (introduced there): pixels, sliding windows, kernels, pooling.

Every function draws with matplotlib and returns the figure (or HTML for the animation), so
the notebook stays a sequence of one-line calls. The arithmetic comes from
:mod:`utils.convolution`; nothing here computes anything a test has not checked.
"""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from utils import convolution as conv
from utils.config import CLASS_NAMES, headless as config_headless
from utils.plots.pixels import WINDOW_COLOUR, axes_row, hide_ticks, pixel_grid, show_image
from utils.plots.sliding_window import plot_sliding_window_sequence, slide_panels, sliding_window_animation

__all__ = [  # the names notebook 02 and the tests import from here, wherever they are defined
    "draw_settings", "explore", "pixel_grid", "plot_channels", "plot_dense_layer", "plot_feature_maps",
    "plot_kernels_and_maps", "plot_photo_and_crop", "plot_pooling", "plot_receptive_fields", "plot_side_by_side",
    "plot_sliding_window_sequence", "show_image", "slide_panels", "sliding_window_animation",
]


def plot_photo_and_crop(photo: np.ndarray, top: int, left: int, size: int) -> Figure:
    """The photo with a box around a crop, and the crop's grayscale values printed per pixel (notebook 02)."""
    fig, axes = axes_row(2, 8, 4)
    show_image(photo, f"the photo {photo.shape[0]}x{photo.shape[1]}", axes[0])
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False, color=WINDOW_COLOUR, lw=2))
    crop = conv.to_grayscale(photo)[top:top + size, left:left + size]
    pixel_grid(crop, axes[1], f"grayscale values of the {size}x{size} box", vmin=0, vmax=255, fontsize=6)
    fig.tight_layout()
    return fig


def plot_channels(rgb_crop: np.ndarray) -> Figure:
    """The red, green and blue channels of a small RGB crop as three grids of numbers (notebook 02)."""
    fig, axes = axes_row(3, 9, 3.4)
    for c, (name, cmap) in enumerate([("red", "Reds"), ("green", "Greens"), ("blue", "Blues")]):
        pixel_grid(rgb_crop[:, :, c], axes[c], f"{name} channel", cmap=cmap, vmin=0, vmax=255, fontsize=6)
    fig.tight_layout()
    return fig


# --- kernels and feature maps ------------------------------------------------------------

def plot_kernels_and_maps(image: np.ndarray, kernels: dict[str, np.ndarray], strides: int = 1,
                          padding: str = "same") -> Figure:
    """Each kernel (values printed) above the feature map it makes from ``image`` (notebook 02)."""
    n = len(kernels)
    fig, axes = plt.subplots(2, n, figsize=(min(2.0 * n, 14), 4.4), squeeze=False)
    for col, (name, kernel) in enumerate(kernels.items()):
        limit = np.abs(kernel).max()
        pixel_grid(kernel, axes[0, col], name, cmap="RdBu_r", vmin=-limit, vmax=limit,
                   fmt="{:.2g}", fontsize=7)
        hide_ticks(axes[0, col])
        fmap = conv.conv2d_vectorised(image, kernel, strides, padding)
        show_image(fmap, None, axes[1, col])
    fig.tight_layout()
    return fig


def plot_feature_maps(maps: np.ndarray, title: str | None = None, max_maps: int = 8, cols: int = 8, height: float = 1.6,
                      names: Sequence[str] | None = None) -> Figure:
    """The channels of a (H, W, C) feature tensor side by side, each with its own colour scale (notebook 02)."""
    maps = np.asarray(maps)
    n = min(maps.shape[-1], max_maps)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, min(n, cols), figsize=(8, height * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            ax.imshow(maps[:, :, k], cmap="viridis", interpolation="nearest")
            ax.set_title(names[k] if names else f"#{k}", fontsize=8)
        hide_ticks(ax)
        ax.axis("off") if k >= n else None
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_side_by_side(images: Sequence[np.ndarray], titles: Sequence[str], cmap: str | None = "gray",
                      suptitle: str | None = None, symmetric: bool = False, same_scale: bool = False) -> Figure:
    """A few 2-D maps next to each other with their shapes in the titles (notebook 02).

    Each map gets its own colour scale unless ``same_scale=True``: then one scale (the
    smallest and largest value over all maps) is used for all, with a colour bar, so equal
    colours mean equal values across the panels (e.g. max against average pooling).
    """
    fig, axes = axes_row(len(images), 8, 8 / len(images) + 0.6)
    images = [np.asarray(image) for image in images]
    shared = {}
    if same_scale:
        low, high = min(float(i.min()) for i in images), max(float(i.max()) for i in images)
        if symmetric:
            high = max(abs(low), abs(high)) or 1
            low = -high
        shared = dict(vmin=low, vmax=high)
    for ax, image, title in zip(axes, images, titles):
        kwargs = dict(shared)
        if symmetric and not same_scale:
            limit = np.abs(image).max() or 1
            kwargs = dict(vmin=-limit, vmax=limit)
        show_image(image, f"{title}\n{image.shape[0]}x{image.shape[1]}", ax, cmap=cmap, **kwargs)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    if same_scale and len(axes):
        fig.colorbar(axes[-1].images[0], ax=list(axes), shrink=0.8, label="value (one scale for all panels)")
    return fig


# --- the fully connected layer -------------------------------------------------------------

def plot_dense_layer(feature_maps: np.ndarray, weights: np.ndarray, bias: np.ndarray,
                     class_names: Sequence[str] = CLASS_NAMES) -> Figure:
    """Flatten -> weights -> outputs, drawn on real feature maps (the fully connected layer) (notebook 02).

    ``feature_maps`` (H, W, C) are flattened into one vector ``x`` (H*W*C values, map after
    map as Keras' ``Flatten`` lays them out); ``weights`` (H*W*C, K) and ``bias`` (K,) are a
    ``Dense(K)`` layer's. Top row: the maps and the vector. Middle: each output's weights
    (one row per class, in the same order as ``x``). Bottom: each output's contributions
    ``x * w`` summed into its score, and the softmax of the scores.
    """
    maps = np.asarray(feature_maps, dtype="float64")
    x = maps.reshape(-1)
    w = np.asarray(weights, dtype="float64")
    b = np.asarray(bias, dtype="float64")
    scores = x @ w + b
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    channels = maps.shape[-1]
    fig = plt.figure(figsize=(10, 7.6))
    grid = fig.add_gridspec(4, max(channels, 4), height_ratios=[1.1, 0.9, 0.9, 1.3], hspace=1.0, wspace=0.6)
    for c in range(channels):
        ax = fig.add_subplot(grid[0, c])
        ax.imshow(maps[:, :, c], cmap="viridis", interpolation="nearest")
        ax.set_title(f"map {c}", fontsize=8)
        hide_ticks(ax)
    positions = np.arange(x.size)
    vec = fig.add_subplot(grid[1, :])
    vec.plot(positions, x, lw=0.4, color="tab:green")
    vec.set(title=f"Flatten: the maps laid end to end as one vector x of {x.size:,} values",
            xlim=(0, x.size), ylabel="x")
    wax = fig.add_subplot(grid[2, :], sharex=vec)
    limit = np.abs(w).max() or 1
    wax.imshow(w.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest",
               extent=(0, x.size, len(class_names) - 0.5, -0.5))
    wax.set_yticks(range(len(class_names)))
    wax.set_yticklabels([f"w[{name}]" for name in class_names])
    wax.set(title=f"Weights: one value per element of x for each output ({w.size:,} in all; red +, blue -)",
            xlabel="position in x")
    out = fig.add_subplot(grid[3, : max(channels, 4) // 2])
    colours = ["#d98c3f", "#4f7fb8"]
    out.bar(class_names, scores, color=colours[: len(class_names)])
    out.axhline(0, color="black", lw=0.6)
    out.set(title="scores z = x . w + b", ylabel="score")
    low, high = min(scores.min(), 0), max(scores.max(), 0)
    out.set_ylim(low - 0.25 * (high - low or 1), high + 0.25 * (high - low or 1))
    for k, value in enumerate(scores):
        out.annotate(f"{value:+.3f}", (k, value), xytext=(0, 3 if value >= 0 else -3), textcoords="offset points",
                     ha="center", va="bottom" if value >= 0 else "top", fontsize=9)
    prob = fig.add_subplot(grid[3, max(channels, 4) // 2:])
    prob.bar(class_names, probabilities, color=colours[: len(class_names)])
    prob.set(title="softmax(z): the two outputs", ylim=(0, 1.2), ylabel="probability")
    prob.axhline(1, color="grey", lw=0.5, linestyle=":")
    for k, value in enumerate(probabilities):
        prob.annotate(f"{value:.3f}", (k, value), ha="center", va="bottom", fontsize=9)
    return fig


# --- pooling ------------------------------------------------------------------------------

def plot_pooling(grid: np.ndarray, pool_size: int = 2, strides: int | None = None, padding: str = "valid") -> Figure:
    """A numeric grid with its pooling windows outlined, and its max- and average-pooled grids (notebook 02)."""
    grid = np.asarray(grid, dtype=float)
    strides = pool_size if strides is None else strides
    pooled_max = conv.max_pool2d(grid, pool_size, strides, padding)
    pooled_avg = conv.average_pool2d(grid, pool_size, strides, padding)
    fig, axes = axes_row(3, 8, 3.0)
    vmin, vmax = grid.min(), grid.max()
    pixel_grid(grid, axes[0], f"input {grid.shape[0]}x{grid.shape[1]}", cmap="Blues", vmin=vmin, vmax=vmax,
               fontsize=9)
    colours = plt.cm.tab10.colors
    for k, (i, j) in enumerate(np.ndindex(*pooled_max.shape)):
        axes[0].add_patch(Rectangle((j * strides - 0.42, i * strides - 0.42), pool_size - 0.16,
                                    pool_size - 0.16, fill=False, color=colours[k % 10], lw=2))
    pixel_grid(pooled_max, axes[1], f"max pool {pool_size}x{pool_size}, stride {strides}", cmap="Blues",
               vmin=vmin, vmax=vmax, fontsize=9)
    pixel_grid(pooled_avg, axes[2], f"average pool {pool_size}x{pool_size}", cmap="Blues", vmin=vmin,
               vmax=vmax, fmt="{:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


# --- receptive field ----------------------------------------------------------------------

def plot_receptive_fields(image: np.ndarray, fields: Sequence[conv.ReceptiveField],
                          centre: tuple[float, float] | None = None) -> Figure:
    """Squares on the image: what one unit after each layer of a stack sees (notebook 02)."""
    image = np.asarray(image)
    centre = centre or (image.shape[0] // 2, image.shape[1] // 2)
    fig, ax = plt.subplots(figsize=(5, 5))
    show_image(image, "what one unit sees after each layer", ax)
    colours = plt.cm.plasma(np.linspace(0.1, 0.9, len(fields)))
    for field, colour in zip(fields, colours):
        half = field.size / 2
        ax.add_patch(Rectangle((centre[1] - half, centre[0] - half), field.size, field.size,
                               fill=False, color=colour, lw=2, label=f"{field.layer}: {field.size}x{field.size}"))
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    return fig


# --- interactive explorer ------------------------------------------------------------------

def draw_settings(image: np.ndarray, kernel_name: str = "vertical edges", strides: int = 1, padding: str = "valid",
                  pool_size: int = 2) -> Figure:
    """Input, feature map, ReLU and pooled map for one choice of kernel, stride, padding, pool (notebook 02)."""
    fmap = conv.conv2d_vectorised(image, conv.KERNELS[kernel_name], strides, padding)
    rectified = conv.relu(fmap)
    pooled = conv.max_pool2d(rectified, pool_size) if pool_size > 1 else rectified
    fig = plot_side_by_side(
        [image, fmap, rectified, pooled],
        ["input", f"{kernel_name}, stride {strides}, '{padding}'", "ReLU", f"max pool {pool_size}x{pool_size}"],
    )
    return fig


def explore(image: np.ndarray, static_settings: Sequence[dict[str, Any]] = ()) -> Any:
    """Sliders and menus that re-draw :func:`draw_settings`; static figures when no frontend.

    Widgets need a live Jupyter frontend. Headless runs (``CATSDOGS_HEADLESS=1``: CI, the
    committed notebooks, GitHub's view) get the figures for ``static_settings`` instead.
    """
    headless = config_headless()
    try:
        import ipywidgets
        from IPython import get_ipython

        has_frontend = get_ipython() is not None and hasattr(get_ipython(), "kernel")
    except ImportError:
        has_frontend = False
    if headless or not has_frontend:
        for settings in static_settings:
            draw_settings(image, **settings)
            plt.show()
        return None

    def redraw(kernel_name, strides, padding, pool_size):
        draw_settings(image, kernel_name, strides, padding, pool_size)
        plt.show()

    return ipywidgets.interact(
        redraw,
        kernel_name=ipywidgets.Dropdown(options=list(conv.KERNELS), value="vertical edges", description="kernel"),
        strides=ipywidgets.IntSlider(value=1, min=1, max=4, description="stride"),
        padding=ipywidgets.ToggleButtons(options=list(conv.PADDINGS), description="padding"),
        pool_size=ipywidgets.IntSlider(value=2, min=1, max=4, description="pool size"),
    )
