"""Figures and tables for training runs (introduced in notebook 03, reused in notebook 04).

Learning curves with the overfitting gap pointed out, the confusion matrix, a gallery of
the most confidently wrong images, and the results table of every run read back from
``logs/*/run.json``. Each function returns the figure (or DataFrame); nothing here trains.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

    from utils.models.registry import Variant
    from utils.runs import RunResult

FIGSIZE = (8, 3.4)
DPI = 110


def overfitting_noise(history: pd.DataFrame) -> float:
    """How much validation loss moves from one epoch to the next on its own: the median change (at least 0.01)
    (notebook 03)."""
    val = history["val_loss"].to_numpy(dtype=float)
    return max(0.01, float(np.median(np.abs(np.diff(val))))) if len(val) > 1 else 0.01


#: Epochs in a row that must sit above the lowest validation loss before a run counts as overfitting.
OVERFIT_EPOCHS = 3


def overfitting_epoch(history: pd.DataFrame, min_epochs: int = OVERFIT_EPOCHS,
                      tolerance: float | None = None) -> int | None:
    """The epoch (1-based) of the lowest validation loss, if the run overfits after it (notebook 03); else ``None``.

    A run overfits when, after its lowest validation loss, at least ``min_epochs`` epochs
    follow, the last ``min_epochs`` of them all sit more than ``tolerance`` above that minimum
    (default: :func:`overfitting_noise`, the loss's own epoch-to-epoch wobble), and training
    loss is lower at the end than at the minimum. One bad epoch, or a rise within the
    noise, is not overfitting.
    """
    if "val_loss" not in history or len(history) < 2:
        return None
    val = history["val_loss"].to_numpy(dtype=float)
    train = history["loss"].to_numpy(dtype=float)
    tolerance = overfitting_noise(history) if tolerance is None else tolerance
    best = int(np.argmin(val))
    after = val[best + 1:]
    if len(after) < min_epochs:
        return None
    if np.all(after[-min_epochs:] > val[best] + tolerance) and train[-1] < train[best]:
        return best + 1
    return None


def describe_fit(history: pd.DataFrame) -> str:
    """One sentence, from the numbers, on whether the learning curves show overfitting (notebooks 03, 04)."""
    val = history["val_loss"].to_numpy(dtype=float)
    best = int(np.argmin(val))
    noise = overfitting_noise(history)
    start = overfitting_epoch(history)
    if len(history) < 2:
        return "One epoch draws no curve: there is nothing to read yet."
    if start is not None:
        return (f"Validation loss was lowest at epoch {start} ({val[best]:.3f}) and ended at {val[-1]:.3f}, more "
                f"than its epoch-to-epoch wobble ({noise:.3f}) above that for the last epochs, while training loss "
                f"kept falling: the model overfits from epoch {start} on, and the figure shades that part.")
    if best == len(val) - 1:
        return (f"Validation loss was still at its lowest in the last epoch ({val[-1]:.3f}): no overfitting yet, so "
                "nothing is shaded; this run could have trained longer.")
    rise = round(val[-1], 3) - round(val[best], 3)  # as the sentence prints them
    how_far = (f"within its epoch-to-epoch wobble ({noise:.3f})" if rise <= noise else
               f"more than its epoch-to-epoch wobble ({noise:.3f}), but notebook 03's test for overfitting (each of "
               f"the last {OVERFIT_EPOCHS} epochs that far above the lowest, training loss still falling) does not pass")
    return (f"Validation loss was lowest at epoch {best + 1} ({val[best]:.3f}) and ended at {val[-1]:.3f}, "
            f"{rise:.3f} higher: {how_far}. The figure shades nothing: no clear overfitting.")


def plot_learning_curves(history: pd.DataFrame, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training vs validation, with the overfitting gap shaded (notebook 03)."""
    history = history.reset_index(drop=True)
    epochs = np.arange(1, len(history) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI)
    ax_loss.plot(epochs, history["loss"], "o-", label="training")
    ax_loss.plot(epochs, history["val_loss"], "o-", label="validation")
    ax_acc.plot(epochs, history["accuracy"], "o-", label="training")
    ax_acc.plot(epochs, history["val_accuracy"], "o-", label="validation")
    start = overfitting_epoch(history)
    if start is not None:
        for ax in (ax_loss, ax_acc):
            ax.axvspan(start, len(history), color="tab:red", alpha=0.08)
        ax_loss.annotate(
            "overfitting: training loss falls,\nvalidation loss rises",
            xy=(start, history["val_loss"].iloc[start - 1]), xytext=(0.35, 0.85), textcoords="axes fraction",
            fontsize=8, arrowprops={"arrowstyle": "->", "color": "tab:red"}, color="tab:red",
        )
    gap = history["accuracy"].iloc[-1] - history["val_accuracy"].iloc[-1]
    ax_acc.set_title(f"accuracy (last epoch gap: {gap:+.2f})", fontsize=10)
    ax_loss.set_title("loss (cross-entropy)", fontsize=10)
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
        ax.set_xticks(epochs if len(epochs) <= 12 else np.linspace(1, len(epochs), 6).round().astype(int))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(confusion: pd.DataFrame, title: str | None = None) -> Figure:
    """A 2x2 table of counts, coloured by count (rows: true class, columns: predicted class; notebook 03)."""
    fig, ax = plt.subplots(figsize=(3.6, 3.2), dpi=DPI)
    values = confusion.to_numpy()
    ax.imshow(values, cmap="Blues")
    for (i, j), count in np.ndenumerate(values):
        ax.text(j, i, f"{count}", ha="center", va="center",
                color="white" if count > values.max() / 2 else "black", fontsize=12)
    ax.set_xticks(range(values.shape[1]), confusion.columns, fontsize=9)
    ax.set_yticks(range(values.shape[0]), confusion.index, fontsize=9)
    ax.set_title(title or "confusion matrix", fontsize=10)
    fig.tight_layout()
    return fig


def plot_wrong_gallery(wrong: pd.DataFrame, columns: int = 4, size: int = 128) -> Figure:
    """The images in ``wrong`` (rows of :func:`utils.evaluate.most_confidently_wrong`) with P(dog) (notebook 03)."""
    from PIL import Image

    names = {0: "cat", 1: "dog"}
    n = max(1, len(wrong))
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(8, 2.5 * rows), dpi=DPI, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (_, row) in zip(axes.ravel(), wrong.iterrows()):
        with Image.open(row["filepath"]) as image:
            ax.imshow(image.convert("RGB").resize((size, size)))
        ax.set_title(f"a {names[int(row['label'])]}; P(dog)={row['p_dog']:.2f}", fontsize=8)
    if len(wrong) == 0:
        axes[0, 0].text(0.5, 0.5, "no wrong answers", ha="center")
    fig.suptitle("most confidently wrong", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.subplots_adjust(hspace=0.3)  # room for each row's titles below the row above
    return fig


def _as_printed(values: pd.Series, digits: int) -> list[float]:
    """``values`` rounded as a notebook's f-string prints them (``:.1f``): Python's ``round``, not pandas'.

    pandas rounds the binary value scaled by 10**digits, so 597.0 s made "10.0" min in the table
    where the sentence beside it, formatted with ``:.1f``, said 9.9 (notebook 04).
    """
    return [round(float(v), digits) for v in values]


def results_table(runs: pd.DataFrame, profile: str | None = None) -> pd.DataFrame:
    """The runs of :func:`utils.runs.list_runs` as a readable table, one profile if given (notebook 04)."""
    if profile is not None and len(runs):
        runs = runs[runs["profile"] == profile]
    table = pd.DataFrame({
        "run": runs["run"],
        "variant": runs["variant"],
        "val accuracy": _as_printed(runs["best_val_accuracy"], 3),
        "val loss": _as_printed(runs["best_val_loss"], 3),
        "epochs": runs["epochs_run"],
        "train min": _as_printed(runs["train_seconds"].astype(float) / 60, 1),
        "params": runs["params"],
        "MFLOPs/image": _as_printed(runs["flops"].astype(float) / 1e6, 1),
        "input": [f"{s[0]}x{s[1]} {c}" if isinstance(s, (list, tuple)) else ""
                  for s, c in zip(runs["image_size"], runs["color_mode"])],
    })
    return table.set_index("run")


def plot_results(table: pd.DataFrame) -> Figure:
    """Validation accuracy of every run in a results table, as horizontal bars (notebook 04)."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(3, len(table)) + 0.8), dpi=DPI)
    ax.barh(range(len(table)), table["val accuracy"], color="tab:blue")
    ax.set_yticks(range(len(table)), table.index, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.4, 1.0)
    for i, value in enumerate(table["val accuracy"]):
        ax.text(value + 0.005, i, f"{value:.3f}", va="center", fontsize=8)
    ax.set_xlabel("validation accuracy")
    fig.tight_layout()
    return fig


def effect_of(result: RunResult, reference: RunResult) -> pd.DataFrame:
    """A new run against the best one so far: validation accuracy and loss, and the change (notebook 04)."""
    rows = {
        reference.run_name: [reference.val_accuracy, reference.val_loss, reference.train_seconds / 60],
        result.run_name: [result.val_accuracy, result.val_loss, result.train_seconds / 60],
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["val accuracy", "val loss", "train min"])
    table.loc["change"] = table.iloc[1] - table.iloc[0]
    return table.round(3)


def plot_augmented(image: np.ndarray, augmentation: keras.layers.Layer, n: int = 7, seed: int = 0,
                   columns: int = 4) -> Figure:
    """The original image (H, W, C in [0, 255]) and ``n`` random versions of it through ``augmentation`` (notebook 04)."""
    import keras

    keras.utils.set_random_seed(seed)
    batch = np.repeat(np.asarray(image, dtype="float32")[None], n, axis=0)
    augmented = np.asarray(augmentation(batch, training=True))
    rows = -(-(n + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2.1 * rows), dpi=DPI, squeeze=False)
    pictures = [image, *augmented]
    titles = ["original", *[f"random {i + 1}" for i in range(n)]]
    for ax in axes.ravel():
        ax.axis("off")
    for ax, picture, title in zip(axes.ravel(), pictures, titles):
        picture = np.clip(np.asarray(picture), 0, 255).astype("uint8")
        ax.imshow(picture.squeeze(), cmap="gray" if picture.shape[-1] == 1 else None)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_learning_rate(variant: Variant, steps_per_epoch: int, epochs: int | None = None,
                       schedule: float | keras.optimizers.schedules.LearningRateSchedule | None = None) -> Figure:
    """The learning rate of every training step of ``variant``, against epochs (notebook 04).

    ``schedule`` (a float or a Keras schedule) defaults to :func:`utils.fit.learning_rate_schedule`,
    the one ``train_variant`` trains with.
    """
    from utils.fit import learning_rate_schedule

    epochs = epochs or variant.epochs
    if schedule is None:
        schedule = learning_rate_schedule(variant, steps_per_epoch, epochs)
    steps = np.arange(steps_per_epoch * epochs)
    rates = np.array([float(schedule(step)) for step in steps]) if callable(schedule) else np.full(len(steps), schedule)
    fig, ax = plt.subplots(figsize=(6.5, 2.8), dpi=DPI)
    ax.plot(steps / steps_per_epoch, rates)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(f"{variant.name}: peak {rates.max():.0e} after {variant.warmup_epochs} warm-up epoch(s)", fontsize=10)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    fig.tight_layout()
    return fig
