"""The figures of notebook 06 (introduced there): first-layer filters, feature maps, Grad-CAM overlays.

What they show is computed by :mod:`utils.explain`; each function returns the figure.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
import pandas as pd

from utils.config import THRESHOLD
from utils.explain import filters_as_images, grad_cam, overlay_heatmap

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_filters(kernel: np.ndarray, columns: int = 8, max_filters: int = 32, title: str = "") -> Figure:
    """A grid of the first-layer filters (colour when they read RGB) (notebook 06)."""
    import matplotlib.pyplot as plt

    tiles = filters_as_images(kernel)[:max_filters]
    rows = int(np.ceil(len(tiles) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns, rows + 0.4), dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, tile in zip(axes.ravel(), tiles):
        ax.imshow(tile[..., 0] if tile.shape[-1] == 1 else tile, cmap="gray", interpolation="nearest")
    fig.suptitle(title)
    return fig


def plot_layer_activations(maps: dict[str, np.ndarray], channels: int = 6, title: str = "") -> Figure:
    """One row per layer, the first ``channels`` channels of its output (notebook 06)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(maps), channels, figsize=(8, 1.4 * len(maps) + 0.4), dpi=110, squeeze=False)
    for row, (name, fmap) in zip(axes, maps.items()):
        # The most active channels say most about what the layer saw.
        order = np.argsort(-fmap.reshape(-1, fmap.shape[-1]).mean(axis=0))[:channels]
        for ax, channel in zip(row, order):
            ax.imshow(fmap[..., channel], cmap="viridis")
            ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel(f"{name}\n{fmap.shape[0]}x{fmap.shape[1]}x{fmap.shape[2]}", fontsize=8)
        for ax in row[len(order):]:
            ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_heatmaps(model: keras.Model, rows: pd.DataFrame, image_size: tuple[int, int], color_mode: str = "rgb",
                  columns: int = 4, title: str = "", layer_name: str | None = None) -> Figure | None:
    """Grad-CAM overlays for manifest ``rows`` (with ``filepath``, ``label`` and ``p_dog`` columns) (notebook 06).

    Each tile shows the image with the heatmap of the class the model predicted, and its title
    the true label and P(dog).
    """
    import matplotlib.pyplot as plt

    from utils.data.pipeline import decode_and_resize

    rows = list(rows.itertuples())
    if not rows:
        return None
    n_rows = int(np.ceil(len(rows) / columns))
    fig, axes = plt.subplots(n_rows, columns, figsize=(8, 2.2 * n_rows + 0.4), dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, row in zip(axes.ravel(), rows):
        image = decode_and_resize(row.filepath, tuple(image_size), color_mode).numpy()
        heatmap, p_dog = grad_cam(model, image, layer_name=layer_name)
        shown = decode_and_resize(row.filepath, tuple(image_size), "rgb").numpy()
        ax.imshow(overlay_heatmap(shown, heatmap))
        truth = "dog" if row.label == 1 else "cat"
        right = (p_dog > THRESHOLD) == (row.label == 1)
        ax.set_title(f"{truth}, P(dog)={p_dog:.2f}", fontsize=9, color="black" if right else "red")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
