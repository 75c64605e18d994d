"""Static figures comparing training runs (introduced in notebook 07).

The interactive comparison lives in TensorBoard; this figure shows the same validation
curves (read from the same event files by :mod:`utils.runs`) where no
TensorBoard server runs: on GitHub, in CI, in a saved notebook.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import matplotlib.pyplot as plt
import pandas as pd

from utils.tensorboard import epoch_metrics

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_validation_curves(scalars: pd.DataFrame, runs: Iterable[str] | None = None,
                           figsize: tuple[float, float] = (8, 4), dpi: int = 100) -> Figure:
    """One figure, two panels: validation log loss and accuracy per epoch, one line per run (notebook 07).

    ``scalars`` is :func:`utils.tensorboard.read_scalars` output; ``runs`` orders and
    selects the runs drawn (for example the ranked table's ``run`` column).
    """
    metrics = epoch_metrics(scalars)
    if runs is None:
        runs = sorted(metrics["run"].unique()) if len(metrics) else []
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=figsize, dpi=dpi)
    for run in runs:
        rows = metrics[metrics["run"] == run].sort_values("epoch")
        # Keras counts epochs from 0 in the logs; people count from 1.
        epochs = rows["epoch"] + 1
        marker = "o" if len(rows) < 15 else None
        if "val_loss" in rows:
            loss_ax.plot(epochs, rows["val_loss"], marker=marker, label=run)
        if "val_accuracy" in rows:
            acc_ax.plot(epochs, rows["val_accuracy"], marker=marker, label=run)
    loss_ax.set(title="Validation log loss (lower is better)", xlabel="epoch", ylabel="log loss")
    acc_ax.set(title="Validation accuracy (higher is better)", xlabel="epoch", ylabel="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if len(runs):
        acc_ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig
