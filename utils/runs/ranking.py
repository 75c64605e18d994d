"""The runs of a profile ranked by the saved model's validation log loss, and the best one recorded in
``models/best.json`` (notebook 07; read by notebook 08 and ``python -m utils submit``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from utils import config
from utils.config import Profile, get_profile
from utils.runs.listing import _logs
from utils.runs.record import RUN_FILE, checkpoint_path, now, read_run_info, write_json
from utils.tensorboard import epoch_metrics, read_scalars


def rank_runs(logs_dir: Path | str | None = None, scalars: pd.DataFrame | None = None, profile: str | None = None) -> pd.DataFrame:
    """One row per run, best first: lowest validation log loss of the model each run saved (notebook 07).

    Columns: run, variant, profile, model_val_loss and model_val_accuracy (the saved
    checkpoint's own scores, from run.json: the best epoch's, or the last epoch's for a run
    that keeps its last epoch, like ``deeper``), min_val_loss, max_val_accuracy, best_epoch
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
        min_val_loss = float(group["val_loss"].min())
        max_val_accuracy = float(group["val_accuracy"].max()) if "val_accuracy" in group else np.nan
        rows.append({
            "run": run,
            "variant": info.get("variant", ""),
            "profile": info.get("profile", ""),
            "model_val_loss": float(info.get("best_val_loss", min_val_loss)),
            "model_val_accuracy": float(info.get("best_val_accuracy", max_val_accuracy)),
            "min_val_loss": min_val_loss,
            "max_val_accuracy": max_val_accuracy,
            "best_epoch": int(best["epoch"]),
            "epochs": int(group["epoch"].nunique()),
            "params": info.get("params", np.nan),
            "train_seconds": info.get("train_seconds", np.nan),
        })
    columns = ["run", "variant", "profile", "model_val_loss", "model_val_accuracy", "min_val_loss",
               "max_val_accuracy", "best_epoch", "epochs", "params", "train_seconds"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(["model_val_loss", "run"], kind="stable").reset_index(drop=True)
    table.index = table.index + 1
    table.index.name = "rank"
    return table


def best_json_path(profile: Profile | str | None = None) -> Path:
    """The best-run record of a run profile (default: ``CATSDOGS_PROFILE``'s): ``models/best.json``
    for the default profile, ``models/best-<profile>.json`` for the others, so a smoke run never
    becomes the model the default profile submits (notebook 06)."""
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
