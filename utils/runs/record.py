"""The run record itself: ``logs/<run>/run.json`` as a :class:`RunRecord`, and a run's name (notebook 03).

The one module that reads or writes ``run.json`` and ``started.json``.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import keras
import pandas as pd

from utils import config

RUN_FILE = "run.json"
STARTED_FILE = "started.json"
ARCHIVE_FOLDER = "archive"


def write_json(path: Path, content: dict) -> None:
    """Write ``content`` to ``path`` whole or not at all (a temporary file, then a rename) (notebook 03)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(partial, path)


def now() -> str:
    """The time now in UTC, as run records store it (notebook 03)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def checkpoint_path(run: str, model_path: str | None = None) -> Path:
    """The checkpoint of ``run``: ``model_path`` (relative to the project home) or ``models/<run>.keras``
    (notebook 03)."""
    return config.home() / (model_path or f"models/{run}.keras")


@dataclass
class RunRecord:
    """A finished run's ``logs/<run>/run.json`` (notebook 03).

    ``best_val_loss`` and ``best_val_accuracy`` are the saved model's scores on the validation split.
    """

    run: str
    variant: str | None = None
    hparams: dict | None = None
    params: int | None = None
    flops: int | None = None
    epochs_run: int | None = None
    train_seconds: float | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    model_path: str | None = None  # relative to the project home
    image_size: list | None = None
    color_mode: str | None = None
    profile: str | None = None
    created: str | None = None
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as they were
    present: frozenset | None = field(default=None, repr=False)  # the keys the file had (None: all)

    @classmethod
    def from_dict(cls, content: dict) -> "RunRecord":
        known = {f.name for f in fields(cls)} - {"extra", "present"}
        return cls(**{k: v for k, v in content.items() if k in known},
                   extra={k: v for k, v in content.items() if k not in known}, present=frozenset(content))

    def to_dict(self) -> dict:
        """The record as ``run.json`` holds it (a key read from a file stays; an absent one stays absent)."""
        content = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "present")}
        if self.present is not None:
            content = {k: v for k, v in content.items() if k in self.present or v is not None}
        return {**content, **self.extra}

    @classmethod
    def read(cls, run_dir: Path | str) -> "RunRecord | None":
        """The record in ``run_dir`` (None when the run is unfinished or its file is damaged)."""
        try:
            content = json.loads((Path(run_dir) / RUN_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if not isinstance(content, dict):
            return None
        record = cls.from_dict({"run": Path(run_dir).name, **content})
        record.present = frozenset(content)
        return record

    def write(self, run_dir: Path | str) -> None:
        """Write ``run_dir/run.json`` in one piece: the run is then finished."""
        write_json(Path(run_dir) / RUN_FILE, self.to_dict())

    @property
    def checkpoint(self) -> Path:
        return checkpoint_path(self.run, self.model_path)


def read_started(run_dir: Path | str) -> dict:
    """What ``logs/<run>/started.json`` says about a run's start ({"run": <folder>} when it is damaged)
    (notebook 03)."""
    try:
        content = json.loads((Path(run_dir) / STARTED_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        content = None
    return content if isinstance(content, dict) else {"run": Path(run_dir).name}


def read_run_info(run_dir: Path | str) -> dict:
    """The ``run.json`` summary a finished run wrote ({} when it has none or it is damaged) (notebook 04)."""
    record = RunRecord.read(run_dir)
    return record.to_dict() if record is not None else {}


#: A run name is one folder name: letters, digits, '-', '_' and '.', not starting with '.'.
RUN_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}")


@dataclass
class RunResult:
    """What a training run produced (notebook 03)."""

    run_name: str
    model: keras.Model
    history: pd.DataFrame  # one row per epoch: loss, accuracy, val_loss, val_accuracy, ...
    model_path: Path  # models/<run>.keras
    log_dir: Path  # logs/<run>
    val_loss: float  # of the weights the run ended with, on the validation split
    val_accuracy: float
    train_seconds: float

    @property
    def summary(self) -> dict:
        """The run's ``run.json`` as a dict."""
        return read_run_info(self.log_dir)


def check_run_name(run_name: str) -> str:
    """``run_name`` if it is a safe folder name, else a ValueError that says what is allowed (notebook 03)."""
    if not isinstance(run_name, str) or not RUN_NAME_PATTERN.fullmatch(run_name):
        raise ValueError(
            f"{run_name!r} is not a usable run name: use up to 120 letters, digits, '-', '_' or '.', "
            "not starting with '.' (it becomes the folder logs/<run> and the file models/<run>.keras)."
        )
    return run_name


def run_name_for(variant: str, logs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """A readable name no run uses yet: ``<variant>-<YYYYmmdd-HHMMSS>``, ``-2``, ``-3``... (notebook 03).

    Only a suggestion: :func:`start_run` is what reserves a name.
    """
    logs_dir = Path(logs_dir or config.logs_dir())
    models_dir = Path(models_dir or config.models_dir())
    stem = f"{variant}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    name, n = stem, 1
    while (logs_dir / name).exists() or (models_dir / f"{name}.keras").exists():
        n += 1
        name = f"{stem}-{n}"
    return name


def run_exists(run_name: str) -> bool:
    """True when a run (finished or not) or its checkpoint already uses this name (notebook 03)."""
    return (config.logs_dir() / run_name).exists() or (config.models_dir() / f"{run_name}.keras").exists()
