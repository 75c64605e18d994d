"""Tidy ``logs/``: what is on disk, archive a run, delete one (notebook 07)."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from utils import config
from utils.runs.listing import _logs, run_names
from utils.runs.record import ARCHIVE_FOLDER, checkpoint_path, read_run_info


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def describe_runs(logs_dir: Path | str | None = None) -> pd.DataFrame:
    """The runs on disk: run, last_modified (UTC), size_mb, has_run_json, has_checkpoint (notebook 07)."""
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
    """Move ``logs/<run>`` to ``logs/archive/<run>``: out of the ranking, nothing is lost (notebook 07).

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
    """Delete ``logs/<run>`` (and ``models/<run>.keras`` with ``include_checkpoint``) for good (notebook 07).

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
