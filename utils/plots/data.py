"""Figures for looking at the dataset (introduced in notebook 01)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from utils.config import LABEL_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def show_image_grid(frame: pd.DataFrame, rows: int = 2, cols: int = 6, seed: int = 0, title: str | None = None) -> Figure:
    """A grid of images drawn from ``frame``, each titled with its label (or test id) and size (notebook 01)."""
    picked = frame.sample(n=min(rows * cols, len(frame)), random_state=seed)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows))
    for ax, row in zip(np.ravel(axes), picked.itertuples()):
        with Image.open(row.filepath) as image:
            ax.imshow(image.convert("RGB"))
        name = LABEL_NAMES.get(row.label, f"test id {row.id}")
        ax.set_title(f"{name}\n{row.width}x{row.height}", fontsize=8)
    for ax in np.ravel(axes):
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_class_balance(frame: pd.DataFrame) -> Figure:
    """Images per class in each split (notebook 01)."""
    labelled = frame[frame["label"] >= 0]
    table = labelled.groupby(["split", labelled["label"].map(LABEL_NAMES)]).size().unstack(fill_value=0)
    ax = table.plot.bar(figsize=(6, 3), rot=0, color=["#d98c3f", "#4f7fb8"])
    ax.set_ylabel("images")
    ax.set_title("Class balance per split")
    ax.figure.tight_layout()
    return ax.figure


def plot_image_sizes(frame: pd.DataFrame) -> Figure:
    """Scatter of widths against heights, and the aspect-ratio histogram (notebook 01)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.scatter(frame["width"], frame["height"], s=4, alpha=0.3)
    left.set_xlabel("width (px)")
    left.set_ylabel("height (px)")
    left.set_title("Image sizes")
    right.hist(frame["width"] / frame["height"], bins=30)
    right.set_xlabel("width / height")
    right.set_title("Aspect ratios")
    sizes = frame[["width", "height"]].drop_duplicates()
    if len(sizes) == 1:  # e.g. a sample resized before we got it: say so instead of a lone dot
        width, height = sizes.iloc[0]
        note = f"all {len(frame):,} images are {width}x{height}:\none point, nothing to compare"
        left.text(0.5, 0.15, note, transform=left.transAxes, ha="center", fontsize=9)
        right.set_title(f"Aspect ratios: every one is {width / height:.2f}")
    fig.tight_layout()
    return fig


def image_size_summary(frame: pd.DataFrame) -> dict:
    """How many distinct (width, height) pairs ``frame`` has, and their range (notebook 01)."""
    return {
        "images": int(len(frame)),
        "distinct_sizes": int(len(frame[["width", "height"]].drop_duplicates())),
        "min_width": int(frame["width"].min()), "max_width": int(frame["width"].max()),
        "min_height": int(frame["height"].min()), "max_height": int(frame["height"].max()),
        "median_width": float(frame["width"].median()), "median_height": float(frame["height"].median()),
    }


def plot_loader_comparison(results: pd.DataFrame) -> Figure:
    """Bar charts of images/s and memory growth for each loader (notebook 01)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.45 * len(results) + 1.4), sharey=True)
    left.barh(results["loader"], results["images_per_s"], color="#4f7fb8")
    left.set_xlabel("images per second (higher is better)")
    right.barh(results["loader"], results["growth_mb"], color="#d98c3f")
    right.set_xlabel("memory growth while loading, MB (lower is better)")
    for ax, column, fmt in ((left, "images_per_s", "{:,.0f}"), (right, "growth_mb", "{:,.0f}")):
        for y, value in enumerate(results[column]):
            ax.annotate(fmt.format(value), (value, y), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=8)
        ax.margins(x=0.18)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
