"""Checks for notebook 07's exercises (comparing runs in TensorBoard)."""
from __future__ import annotations

import re
from typing import Any

from utils.check._report import close, exercise, same_choice

ARCHIVE_CHOICES = {
    "a": "The run is gone from TensorBoard: archiving deletes its event files.",
    "b": "The run is still there, now listed as archive/<run>/train and archive/<run>/validation.",
    "c": "Nothing changes until TensorBoard is restarted.",
}


@exercise("07.1")
def run_filter(regex: str, ranking: Any) -> tuple[bool, str]:
    """A TensorBoard run filter that shows only the validation curves of the two best-ranked runs (notebook 07)."""
    try:
        pattern = re.compile(str(regex))
    except re.error as error:
        return False, f"that is not a valid regular expression ({error})."
    tags = [f"{run}/{part}" for run in ranking["run"] for part in ("train", "validation")]
    shown = {tag for tag in tags if pattern.search(tag)}
    wanted = {f"{run}/validation" for run in ranking["run"].head(2)}
    if shown == wanted:
        return True, ""
    if wanted - shown:
        return False, "it hides one of the two best runs' validation curves: the ranked table names them."
    return False, f"it also shows {len(shown - wanted)} other series: end it with /validation and name only two runs."


@exercise("07.2")
def accuracy_winner(run: str, ranking: Any) -> tuple[bool, str]:
    """The run with the highest best validation accuracy (notebook 07)."""
    best = ranking.sort_values("model_val_accuracy", ascending=False, kind="stable")
    top = set(best.loc[best["model_val_accuracy"] == best["model_val_accuracy"].iloc[0], "run"])
    return str(run) in top, "sort the ranking by model_val_accuracy (the saved model's), highest first."


@exercise("07.3")
def best_epoch_and_gap(run: str, epoch: int, gap: float, metrics: Any) -> tuple[bool, str]:
    """The epoch of the lowest validation loss of ``run``, and val_loss - loss at its last epoch (notebook 07)."""
    history = metrics[metrics["run"] == run].set_index("epoch").sort_index()
    if history.empty:
        return False, f"no epochs for run {run!r} in `metrics`: copy the name from the ranked table."
    if int(epoch) != int(history["val_loss"].idxmin()):
        return False, "find the epoch with the lowest val_loss (idxmin), counting epochs as `metrics` does."
    last = history.iloc[-1]
    if not close(gap, float(last["val_loss"] - last["loss"]), rel=0.01):
        return False, "the gap is the last epoch's val_loss minus its loss (training)."
    return True, ""


@exercise("07.4")
def archived(choice: str) -> tuple[bool, str]:
    """Multiple choice: what TensorBoard shows after archiving a run (see ARCHIVE_CHOICES) (notebook 07)."""
    return same_choice(choice, "b"), "archive_run moves the folder; TensorBoard re-scans logs/ and names runs by path."
