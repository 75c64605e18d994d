"""The run record: one ``RunRecord`` per training run, written, read, listed and ranked here (notebooks 03-08).

Every run of the course has a folder ``logs/<run>/`` (TensorBoard's event files, ``history.csv``,
``started.json`` from its start) and a checkpoint ``models/<run>.keras``. A run is *finished*
exactly when ``logs/<run>/run.json`` exists: :class:`RunRecord` is that file's content, and this
module is the only one that reads or writes it (:mod:`utils.fit` writes it at the end of a
run, :mod:`utils.models.transfer` updates it for a transfer model).

* :func:`list_runs` / :func:`load_run`: every finished run as a table; one run read back.
* :func:`rank_runs` / :func:`record_best_run` / :func:`read_best_run`: the runs of a profile
  ranked by the saved model's validation log loss, the best one recorded in ``models/best.json``
  (read by notebook 08 and ``python -m utils submit``).
* :func:`describe_runs` / :func:`archive_run` / :func:`delete_run`: tidy ``logs/``.

In ``run.json``, ``best_val_loss`` / ``best_val_accuracy`` are the *saved model's* scores on the
validation split; :func:`rank_runs` calls them ``model_val_loss`` / ``model_val_accuracy`` and
keeps ``best_val_loss`` for the lowest loss over the epochs (what TensorBoard shows).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from utils import config
from utils.config import Profile, get_profile
from utils.tensorboard import SPLITS, epoch_metrics, read_scalars

RUN_FILE = "run.json"
STARTED_FILE = "started.json"
ARCHIVE_FOLDER = "archive"


def write_json(path: Path, content: dict) -> None:
    """Write ``content`` to ``path`` whole or not at all (a temporary file, then a rename)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(partial, path)


def now() -> str:
    """The time now in UTC, as run records store it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def checkpoint_path(run: str, model_path: str | None = None) -> Path:
    """The checkpoint of ``run``: ``model_path`` (relative to the project home) or ``models/<run>.keras``."""
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
    """What ``logs/<run>/started.json`` says about a run's start ({"run": <folder>} when it is damaged)."""
    try:
        content = json.loads((Path(run_dir) / STARTED_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        content = None
    return content if isinstance(content, dict) else {"run": Path(run_dir).name}


def read_run_info(run_dir: Path | str) -> dict:
    """The ``run.json`` summary a finished run wrote ({} when it has none or it is damaged) (notebook 04)."""
    record = RunRecord.read(run_dir)
    return record.to_dict() if record is not None else {}


RUN_COLUMNS = [
    "run", "variant", "best_val_accuracy", "best_val_loss", "epochs_run", "train_seconds",
    "params", "flops", "image_size", "color_mode", "profile", "created", "model_path",
]


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
    """``run_name`` if it is a safe folder name, else a ValueError that says what is allowed."""
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
    """True when a run (finished or not) or its checkpoint already uses this name."""
    return (config.logs_dir() / run_name).exists() or (config.models_dir() / f"{run_name}.keras").exists()


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
    """A finished run read back from disk: its summary, history and (optionally) checkpoint (notebook 04)."""
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
        from utils.models.transfer import custom_objects

        model = keras.models.load_model(model_path, custom_objects=custom_objects())
    else:
        model = None
    return RunResult(run_name, model, history, model_path, log_dir, record.best_val_loss,
                     record.best_val_accuracy, record.train_seconds)


def _logs(logs_dir) -> Path:
    return Path(logs_dir) if logs_dir is not None else config.logs_dir()


def run_names(logs_dir: Path | str | None = None, profile: str | None = None) -> list[str]:
    """The runs under ``logs_dir`` (default ``logs/``): folders with event files or a run.json.

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


def rank_runs(logs_dir: Path | str | None = None, scalars: pd.DataFrame | None = None, profile: str | None = None) -> pd.DataFrame:
    """One row per run, best first: lowest validation log loss of the model each run saved.

    Columns: run, variant, profile, model_val_loss and model_val_accuracy (the saved
    checkpoint's own scores, from run.json: the best epoch's, or the last epoch's for a run
    that keeps its last epoch, like ``deeper``), best_val_loss, best_val_accuracy, best_epoch
    (the lowest validation loss over the epochs, the highest accuracy, and the epoch of that
    loss counted from 0: what TensorBoard shows, from the event files), epochs, params,
    train_seconds. A run without run.json's scores gets its best epoch's as model_val_*. With
    ``profile``, only runs trained in that run profile are ranked: a one-epoch smoke run and a
    default run are not a fair comparison. Unfinished runs (no ``run.json``: interrupted, or
    still training) are never ranked: their checkpoint is not the model they would have made.
    """
    root = _logs(logs_dir)
    if scalars is None:
        scalars = read_scalars(root)
    metrics = epoch_metrics(scalars)
    rows = []
    for run, group in metrics.groupby("run", sort=True):
        if "val_loss" not in group or group["val_loss"].isna().all():
            continue
        if not (root / run / RUN_FILE).is_file():
            continue  # unfinished
        info = read_run_info(root / run)
        if profile is not None and info.get("profile") != profile:
            continue
        best = group.loc[group["val_loss"].idxmin()]
        best_val_loss = float(group["val_loss"].min())
        best_val_accuracy = float(group["val_accuracy"].max()) if "val_accuracy" in group else np.nan
        rows.append({
            "run": run,
            "variant": info.get("variant", ""),
            "profile": info.get("profile", ""),
            "model_val_loss": float(info.get("best_val_loss", best_val_loss)),
            "model_val_accuracy": float(info.get("best_val_accuracy", best_val_accuracy)),
            "best_val_loss": best_val_loss,
            "best_val_accuracy": best_val_accuracy,
            "best_epoch": int(best["epoch"]),
            "epochs": int(group["epoch"].nunique()),
            "params": info.get("params", np.nan),
            "train_seconds": info.get("train_seconds", np.nan),
        })
    columns = ["run", "variant", "profile", "model_val_loss", "model_val_accuracy", "best_val_loss",
               "best_val_accuracy", "best_epoch", "epochs", "params", "train_seconds"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(["model_val_loss", "run"], kind="stable").reset_index(drop=True)
    table.index = table.index + 1
    table.index.name = "rank"
    return table


def best_json_path(profile: Profile | str | None = None) -> Path:
    """The best-run record of a run profile (default: ``CATSDOGS_PROFILE``'s): ``models/best.json``
    for the default profile, ``models/best-<profile>.json`` for the others, so a smoke run never
    becomes the model the default profile submits."""
    name = get_profile(profile).name
    return config.models_dir() / ("best.json" if name == "default" else f"best-{name}.json")


def record_best_run(ranking: pd.DataFrame, logs_dir: Path | str | None = None, path: Path | str | None = None,
                    profile: Profile | str | None = None) -> dict:
    """Write the best run of ``ranking`` to the profile's record (``models/best.json``, read by
    notebook 08 and ``python -m utils.submit``) and return it.

    Only finished runs of ``profile`` (default: ``CATSDOGS_PROFILE``'s) are candidates. The
    best is the highest-ranked one whose checkpoint (``models/<run>.keras``) still exists. The
    record holds the run name, that checkpoint (relative to the project home), the
    checkpoint's own validation scores, the profile and epochs, and what the model expects as input.
    """
    profile_name = get_profile(profile).name
    if ranking.empty:
        raise ValueError("No ranked runs: train a model first (notebooks 03-05) so logs/ holds a run.")
    root = _logs(logs_dir)
    candidates = [top for _, top in ranking.iterrows()
                  if (root / top["run"] / RUN_FILE).is_file()
                  and read_run_info(root / top["run"]).get("profile") == profile_name]
    if not candidates:
        raise ValueError(
            f"No finished run of the {profile_name!r} profile is in the ranking: train one in that profile "
            f"(CATSDOGS_PROFILE={profile_name}), or rank with rank_runs(profile={profile_name!r})."
        )
    for top in candidates:
        info = read_run_info(root / top["run"])
        checkpoint = checkpoint_path(top["run"], info.get("model_path"))
        if checkpoint.is_file():
            break
    else:
        raise FileNotFoundError(
            "None of the ranked runs has its checkpoint in models/ any more: "
            "train a model again (notebook 04) or restore models/<run>.keras."
        )
    record = {
        "run": str(top["run"]),
        "variant": info.get("variant", str(top["variant"])),
        "model_path": config.relative(checkpoint),
        "val_loss": float(top["model_val_loss"]),
        "val_accuracy": float(top["model_val_accuracy"]),
        "image_size": info.get("image_size"),
        "color_mode": info.get("color_mode"),
        "profile": info.get("profile"),
        "epochs_run": info.get("epochs_run"),
        "chosen_by": "lowest validation log loss of the saved model (notebook 07)",
        "candidates": int(len(candidates)),
        "created": now(),
    }
    path = Path(path) if path is not None else best_json_path(profile_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    return record


def read_best_run(profile: Profile | str | None = None) -> dict | None:
    """The best-run record :func:`record_best_run` wrote for ``profile`` (None: there is none) (notebook 08).

    Raises ValueError when the file is there but unreadable.
    """
    path = best_json_path(profile)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{config.relative(path)} is unreadable ({error})") from None
    if not isinstance(record, dict) or not isinstance(record.get("model_path"), str):
        raise ValueError(f"{config.relative(path)} is unreadable (no model_path)")
    return record


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def describe_runs(logs_dir: Path | str | None = None) -> pd.DataFrame:
    """The runs on disk: run, last_modified (UTC), size_mb, has_run_json, has_checkpoint."""
    root = _logs(logs_dir)
    rows = []
    for run in run_names(root):
        folder = root / run
        info = read_run_info(folder)
        checkpoint = checkpoint_path(run, info.get("model_path"))
        newest = max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=folder.stat().st_mtime)
        rows.append({
            "run": run,
            "last_modified": datetime.fromtimestamp(newest, timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "size_mb": round(_folder_size(folder) / 1e6, 2),
            "has_run_json": bool(info),
            "has_checkpoint": checkpoint.is_file(),
        })
    return pd.DataFrame(rows, columns=["run", "last_modified", "size_mb", "has_run_json", "has_checkpoint"])


def _run_folder(run: str, root: Path) -> Path:
    if not run or Path(run).name != run or run in (".", "..", ARCHIVE_FOLDER):
        raise ValueError(f"{run!r} is not a run name: use a name listed by describe_runs().")
    folder = root / run
    if not folder.is_dir():
        raise FileNotFoundError(f"No run {run!r} in {config.relative(root)}/: runs there are {run_names(root)}.")
    return folder


def archive_run(run: str, logs_dir: Path | str | None = None) -> Path:
    """Move ``logs/<run>`` to ``logs/archive/<run>``: out of the ranking, nothing is lost.

    TensorBoard on ``logs/`` still shows it, as ``archive/<run>/...`` (hide it with the run
    filter ``^(?!archive/)``); move the folder back to undo.

    If the archive already holds a run of that name, the new one gets a time suffix,
    so nothing is overwritten. Returns the new folder.
    """
    root = _logs(logs_dir)
    folder = _run_folder(run, root)
    target = root / ARCHIVE_FOLDER / run
    if target.exists():
        target = target.with_name(f"{run}-{time.strftime('%Y%m%d-%H%M%S')}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder), str(target))
    return target


def delete_run(run: str, logs_dir: Path | str | None = None, *, confirm: bool = False, include_checkpoint: bool = False) -> list[Path]:
    """Delete ``logs/<run>`` (and ``models/<run>.keras`` with ``include_checkpoint``) for good.

    Without ``confirm=True`` nothing is deleted: it prints what would go and returns []. With
    it, returns the paths deleted. Prefer :func:`archive_run`, which can be undone.
    """
    root = _logs(logs_dir)
    folder = _run_folder(run, root)
    targets = [folder]
    if include_checkpoint:
        checkpoint = checkpoint_path(run, read_run_info(folder).get("model_path"))
        if checkpoint.is_file():
            targets.append(checkpoint)
    if not confirm:
        listed = ", ".join(config.relative(t) for t in targets)
        print(f"Would delete {listed}. Nothing deleted: call again with confirm=True to delete for good.")
        return []
    for target in targets:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    return targets
