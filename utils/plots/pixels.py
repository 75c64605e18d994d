"""Images and grids of numbers, the building blocks of notebook 02's figures (notebook 02)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

WINDOW_COLOUR = "tab:red"
CELL_COLOUR = "tab:orange"


def axes_row(n: int, width: float = 8.0, height: float = 3.2, squeeze: bool = True) -> tuple[Figure, np.ndarray | Axes]:
    fig, axes = plt.subplots(1, n, figsize=(width, height), squeeze=False)
    return fig, (axes[0] if squeeze else axes)


def hide_ticks(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def show_image(image: np.ndarray, title: str | None = None, ax: Axes | None = None, cmap: str | None = "gray",
               **imshow_kwargs: object) -> Axes:
    """An image (H, W) or (H, W, 3) in [0, 255] or any float range, without ticks (notebook 02)."""
    image = np.asarray(image)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    if image.ndim == 3 and image.shape[2] == 3:
        ax.imshow(np.clip(image, 0, 255).astype("uint8"), interpolation="nearest")
    else:
        ax.imshow(np.squeeze(image), cmap=cmap, interpolation="nearest", **imshow_kwargs)
    if title:
        ax.set_title(title, fontsize=10)
    hide_ticks(ax)
    return ax


def _text_colour(value, vmin, vmax, cmap):
    """White text on dark cells, black on light ones (from the cell's colour in ``cmap``)."""
    if not np.isfinite(value):
        return "black"
    fraction = 0.5 if vmax == vmin else (value - vmin) / (vmax - vmin)
    red, green, blue, _ = plt.get_cmap(cmap)(float(np.clip(fraction, 0, 1)))
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"


def pixel_grid(values: np.ndarray, ax: Axes | None = None, title: str | None = None, cmap: str = "gray",
               fmt: str = "{:.0f}", vmin: float | None = None, vmax: float | None = None, fontsize: float = 7) -> Axes:
    """A small 2-D array as coloured cells with each value printed in its cell (NaN: left blank) (notebook 02)."""
    values = np.asarray(values, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    finite = values[np.isfinite(values)]
    vmin = (finite.min() if finite.size else 0) if vmin is None else vmin
    vmax = (finite.max() if finite.size else 1) if vmax is None else vmax
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "" if np.isnan(v) else fmt.format(v), ha="center", va="center", fontsize=fontsize,
                color=_text_colour(v, vmin, vmax, cmap))
    ax.set_xticks(np.arange(-0.5, values.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, values.shape[0]), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelsize=6)
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def update_grid(ax: Axes, values: np.ndarray, fmt: str = "{:.0f}") -> None:
    """New values for a grid drawn by :func:`pixel_grid` (same shape, same colour scale) (notebook 02)."""
    image = ax.images[0]
    image.set_data(values)
    vmin, vmax = image.get_clim()
    for text, v in zip(ax.texts, np.asarray(values, dtype=float).flat):
        text.set_text("" if np.isnan(v) else fmt.format(v))
        text.set_color(_text_colour(v, vmin, vmax, image.get_cmap().name))
