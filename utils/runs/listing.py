"""Every run on disk as a table, and one run read back (notebook 04)."""
from __future__ import annotations

from pathlib import Path

import keras
import pandas as pd

from utils import config
from utils.runs.record import (ARCHIVE_FOLDER, RUN_FILE, STARTED_FILE, RunRecord, RunResult, read_run_info,
                               read_started)
from utils.tensorboard import SPLITS

RUN_COLUMNS = [
    "run", "variant", "best_val_accuracy", "best_val_loss", "epochs_run", "train_seconds",
    "params", "flops", "image_size", "color_mode", "profile", "created", "model_path",
]


def list_runs(logs_dir: Path | str | None = None, include_unfinished: bool = False) -> pd.DataFrame:
    """Every finished run's ``run.json`` under ``logs/``, oldest first, one row per run (notebook 04).

    ``include_unfinished=True`` adds the runs that started but never wrote ``run.json``
    (interrupted, or still training), from their ``started.json``; column ``finished`` tells them apart.
    """
    logs_dir = Path(logs_dir or config.logs_dir())
    rows = []
    for folder in sorted(p for p in logs_dir.glob("*") if p.is_dir()):
        info = read_run_info(folder)  # {} for a run being written, or a damaged file
        if info:
            rows.append({**info, "finished": True})
        elif include_unfinished and (folder / STARTED_FILE).is_file():
            started = read_started(folder)
            rows.append({"run": folder.name, "variant": started.get("variant"), "profile": started.get("profile"),
                         "created": started.get("started"), "finished": False})
    if not rows:
        return pd.DataFrame(columns=[*RUN_COLUMNS, "finished"] if include_unfinished else RUN_COLUMNS)
    table = pd.DataFrame(rows)
    if not include_unfinished:
        table = table.drop(columns="finished")
    for column in RUN_COLUMNS:
        if column not in table:
            table[column] = None
    extra = [c for c in table.columns if c not in RUN_COLUMNS]
    return table[RUN_COLUMNS + extra].sort_values("created", kind="stable").reset_index(drop=True)


def load_run(run_name: str, with_model: bool = True) -> RunResult:
    """A finished run read back from disk: its summary, history and (optionally) checkpoint (notebook 04).

    A checkpoint saved in bfloat16 and opened on a CPU without bfloat16 hardware comes back as
    its float32 copy (:func:`utils.models.precision.for_this_cpu`), uncompiled.
    """
    log_dir = config.logs_dir() / run_name
    record = RunRecord.read(log_dir)
    if record is None:
        raise FileNotFoundError(f"No finished run named {run_name!r} in {config.relative(config.logs_dir())}; "
                                "list_runs() shows the runs there.")
    history = pd.read_csv(log_dir / "history.csv")
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
    history = history.drop(columns=["epoch"], errors="ignore")
    model_path = record.checkpoint
    if with_model:
        from utils.models.precision import for_this_cpu
        from utils.models.transfer import custom_objects

        # a bfloat16 run opened on a CPU without bfloat16 hardware: its float32 copy, uncompiled
        model = for_this_cpu(keras.models.load_model(model_path, custom_objects=custom_objects()))
    else:
        model = None
    return RunResult(run_name, model, history, model_path, log_dir, record.best_val_loss,
                     record.best_val_accuracy, record.train_seconds)


def _logs(logs_dir) -> Path:
    return Path(logs_dir) if logs_dir is not None else config.logs_dir()


def run_names(logs_dir: Path | str | None = None, profile: str | None = None) -> list[str]:
    """The runs under ``logs_dir`` (default ``logs/``): folders with event files or a run.json (notebook 07).

    ``logs/archive`` (where :func:`archive_run` moves old runs) is not a run. With ``profile``,
    only the runs whose run.json says they were trained in that run profile.
    """
    root = _logs(logs_dir)
    if not root.is_dir():
        return []
    runs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != ARCHIVE_FOLDER):
        has_events = any(folder.glob("events.out.tfevents.*")) or any(
            any((folder / split).glob("events.out.tfevents.*")) for split in SPLITS
        )
        if profile is not None and read_run_info(folder).get("profile") != profile:
            continue
        if has_events or (folder / RUN_FILE).is_file():
            runs.append(folder.name)
    return runs
