"""Read TensorBoard's event files, rank the runs and tidy the ``logs/`` folder (introduced in notebook 07).

Every training run of the course writes ``logs/<run>/train`` and ``logs/<run>/validation``
(the Keras ``TensorBoard`` callback), an HParams summary in ``logs/<run>`` and a
``logs/<run>/run.json`` summary. TensorBoard shows them interactively; this module reads the
same event files so a notebook can show a static comparison that is visible everywhere
(GitHub, CI, a PDF), pick the best run and record it in ``models/best.json``.

TF2 writes scalars as *tensor* summaries, not the TF1 ``simple_value`` scalars, so the
reader asks ``EventAccumulator`` for tensors (and still accepts old-style scalars).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from utils import paths
from utils.training import read_run_info  # run.json, written by utils.training

SPLITS = ("train", "validation")
ARCHIVE_FOLDER = "archive"
SCALAR_COLUMNS = ["run", "split", "tag", "step", "value", "wall_time"]


def _logs(logs_dir) -> Path:
    return Path(logs_dir) if logs_dir is not None else paths.logs_dir()


def _accumulator(folder: Path):
    from tensorboard.backend.event_processing import event_accumulator

    # size_guidance 0 keeps every event (the default samples long runs down).
    acc = event_accumulator.EventAccumulator(
        str(folder),
        size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0},
    )
    acc.Reload()
    return acc


def run_names(logs_dir=None, profile: str | None = None) -> list[str]:
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
        if has_events or (folder / "run.json").is_file():
            runs.append(folder.name)
    return runs


def read_run_scalars(run_dir) -> pd.DataFrame:
    """Every scalar of one run as a tidy table: run, split, tag, step, value, wall_time."""
    from tensorboard.util import tensor_util

    run_dir = Path(run_dir)
    rows = []
    for split in SPLITS:
        folder = run_dir / split
        if not folder.is_dir():
            continue
        acc = _accumulator(folder)
        tags = acc.Tags()
        for tag in tags.get("tensors", []):
            for event in acc.Tensors(tag):
                value = tensor_util.make_ndarray(event.tensor_proto)
                if value.size != 1 or not np.issubdtype(value.dtype, np.number):
                    continue  # images, histograms, text: not scalars
                rows.append((run_dir.name, split, tag, event.step, float(value.reshape(())), event.wall_time))
        for tag in tags.get("scalars", []):  # TF1-style summaries
            for event in acc.Scalars(tag):
                rows.append((run_dir.name, split, tag, event.step, float(event.value), event.wall_time))
    frame = pd.DataFrame(rows, columns=SCALAR_COLUMNS)
    return frame.sort_values(["split", "tag", "step"], kind="stable").reset_index(drop=True)


def read_scalars(logs_dir=None, runs=None) -> pd.DataFrame:
    """The scalars of every run (or of ``runs``) under ``logs_dir`` in one tidy DataFrame."""
    root = _logs(logs_dir)
    runs = run_names(root) if runs is None else list(runs)
    frames = [read_run_scalars(root / run) for run in runs]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=SCALAR_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def epoch_metrics(scalars: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch metrics laid out like Keras' history: run, epoch, loss, accuracy, val_loss, ...

    The Keras callback names epoch scalars ``epoch_<metric>``; validation ones go to
    the ``validation`` folder and become ``val_<metric>`` here, as in ``history.csv``.
    """
    epochs = scalars[scalars["tag"].str.startswith("epoch_")].copy()
    if epochs.empty:
        return pd.DataFrame(columns=["run", "epoch"])
    metric = epochs["tag"].str.removeprefix("epoch_")
    epochs["metric"] = np.where(epochs["split"] == "validation", "val_" + metric, metric)
    table = epochs.pivot_table(index=["run", "step"], columns="metric", values="value", aggfunc="last")
    table = table.reset_index().rename(columns={"step": "epoch"})
    table.columns.name = None
    return table


def read_hparams(run_dir) -> dict:
    """The hyperparameters a run logged with ``hp.hparams`` (the HParams dashboard's data)."""
    from tensorboard.plugins.hparams import metadata

    run_dir = Path(run_dir)
    if not any(run_dir.glob("events.out.tfevents.*")):
        return {}
    acc = _accumulator(run_dir)
    values = {}
    for tag, content in acc.PluginTagToContent(metadata.PLUGIN_NAME).items():
        if tag != metadata.SESSION_START_INFO_TAG:
            continue
        info = metadata.parse_session_start_info_plugin_data(content)
        for name, value in info.hparams.items():
            kind = value.WhichOneof("kind")
            values[name] = getattr(value, kind) if kind else None
    return values


def rank_runs(logs_dir=None, scalars: pd.DataFrame | None = None, profile: str | None = None) -> pd.DataFrame:
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
        if not (root / run / "run.json").is_file():
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


def best_json_path(profile=None) -> Path:
    """The best-run record of a run profile (default: ``CATSDOGS_PROFILE``'s): ``models/best.json``
    for the default profile, ``models/best-<profile>.json`` for the others, so a smoke run never
    becomes the model the default profile submits."""
    from utils.profiles import Profile, get_profile

    name = profile.name if isinstance(profile, Profile) else get_profile(profile).name
    return paths.models_dir() / ("best.json" if name == "default" else f"best-{name}.json")


def record_best_run(ranking: pd.DataFrame, logs_dir=None, path=None, profile=None) -> dict:
    """Write the best run of ``ranking`` to the profile's record (``models/best.json``, read by
    notebook 08 and ``python -m utils.submit``) and return it.

    Only finished runs of ``profile`` (default: ``CATSDOGS_PROFILE``'s) are candidates. The
    best is the highest-ranked one whose checkpoint (``models/<run>.keras``) still exists. The
    record holds the run name, that checkpoint (relative to the project home), the
    checkpoint's own validation scores, the profile and epochs, and what the model expects as input.
    """
    from utils.profiles import Profile, get_profile

    profile_name = profile.name if isinstance(profile, Profile) else get_profile(profile).name
    if ranking.empty:
        raise ValueError("No ranked runs: train a model first (notebooks 03-05) so logs/ holds a run.")
    root = _logs(logs_dir)
    candidates = [top for _, top in ranking.iterrows()
                  if (root / top["run"] / "run.json").is_file()
                  and read_run_info(root / top["run"]).get("profile") == profile_name]
    if not candidates:
        raise ValueError(
            f"No finished run of the {profile_name!r} profile is in the ranking: train one in that profile "
            f"(CATSDOGS_PROFILE={profile_name}), or rank with rank_runs(profile={profile_name!r})."
        )
    for top in candidates:
        info = read_run_info(root / top["run"])
        model_path = info.get("model_path", f"models/{top['run']}.keras")
        if (paths.home() / model_path).is_file():
            break
    else:
        raise FileNotFoundError(
            "None of the ranked runs has its checkpoint in models/ any more: "
            "train a model again (notebook 04) or restore models/<run>.keras."
        )
    record = {
        "run": str(top["run"]),
        "variant": info.get("variant", str(top["variant"])),
        "model_path": model_path,
        "val_loss": float(top["model_val_loss"]),
        "val_accuracy": float(top["model_val_accuracy"]),
        "image_size": info.get("image_size"),
        "color_mode": info.get("color_mode"),
        "profile": info.get("profile"),
        "epochs_run": info.get("epochs_run"),
        "chosen_by": "lowest validation log loss of the saved model (notebook 07)",
        "candidates": int(len(candidates)),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = Path(path) if path is not None else best_json_path(profile_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(temporary, path)
    return record


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def describe_runs(logs_dir=None) -> pd.DataFrame:
    """The runs on disk: run, last_modified (UTC), size_mb, has_run_json, has_checkpoint."""
    root = _logs(logs_dir)
    rows = []
    for run in run_names(root):
        folder = root / run
        info = read_run_info(folder)
        checkpoint = paths.home() / info.get("model_path", f"models/{run}.keras")
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
        raise FileNotFoundError(f"No run {run!r} in {paths.relative(root)}/: runs there are {run_names(root)}.")
    return folder


def archive_run(run: str, logs_dir=None) -> Path:
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


def delete_run(run: str, logs_dir=None, *, confirm: bool = False, include_checkpoint: bool = False) -> list[Path]:
    """Delete ``logs/<run>`` (and ``models/<run>.keras`` with ``include_checkpoint``) for good.

    Without ``confirm=True`` nothing is deleted: it prints what would go and returns []. With
    it, returns the paths deleted. Prefer :func:`archive_run`, which can be undone.
    """
    root = _logs(logs_dir)
    folder = _run_folder(run, root)
    targets = [folder]
    if include_checkpoint:
        checkpoint = paths.home() / read_run_info(folder).get("model_path", f"models/{run}.keras")
        if checkpoint.is_file():
            targets.append(checkpoint)
    if not confirm:
        listed = ", ".join(paths.relative(t) for t in targets)
        print(f"Would delete {listed}. Nothing deleted: call again with confirm=True to delete for good.")
        return []
    for target in targets:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    return targets
