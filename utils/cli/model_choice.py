"""Which model ``python -m utils submit`` uses: the one named, the profile's best recorded run, or the
newest finished one, never an unfinished or smoke-profile run by default (notebook 08)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from utils import config
from utils.predict import PredictionError

if TYPE_CHECKING:
    from utils.config import Profile


def model_run(path: Path) -> tuple[str, dict]:
    """``(state, info)`` of the run that saved ``models/<run>.keras``: state ``"finished"``
    (``logs/<run>/run.json``, returned as info), ``"unfinished"`` (the run folder without
    ``run.json``: interrupted, or still training; info from ``started.json``) or ``"unknown"``
    (not saved by a run of the course) (notebook 08)."""
    from utils.runs import RUN_FILE, STARTED_FILE, read_run_info, read_started

    folder = config.logs_dir() / Path(path).stem
    if (folder / RUN_FILE).is_file():
        return "finished", read_run_info(folder)
    if (folder / STARTED_FILE).is_file():
        started = read_started(folder)
        return "unfinished", {} if started == {"run": folder.name} else started
    return ("unfinished", {}) if folder.is_dir() else ("unknown", {})


def describe_model(path: Path) -> str:
    """"profile default, 35 epochs" (or why that is not known) for a model file (notebook 08)."""
    state, info = model_run(path)
    if state == "unknown":
        return "not saved by a training run of the course: its profile and epochs are unknown"
    if state == "unfinished":
        return f"an UNFINISHED run (profile {info.get('profile') or 'unknown'}): interrupted before its end"
    epochs = info.get("epochs_run")
    return f"profile {info.get('profile') or 'unknown'}, {epochs if epochs is not None else '?'} epoch(s)"


def _refusal(path: Path, current_profile: str) -> str | None:
    """Why the model may not be chosen by default (None: it may)."""
    state, info = model_run(path)
    if state == "unfinished":
        return (f"{config.relative(path)} comes from an unfinished run (interrupted: no logs/{path.stem}/run.json)")
    if info.get("profile") == "smoke" and current_profile != "smoke":
        return (f"{config.relative(path)} comes from a smoke-profile run (one epoch on a few hundred images: "
                "a test, not a model)")
    return None


def choose_model(name: str | os.PathLike | None = None, profile: Profile | str | None = None) -> tuple[Path, str]:
    """``(model file, why it was chosen)``: the one named, the profile's best recorded, or the newest (notebook 08).

    By default (no ``name``) a model of an unfinished run is never chosen, nor one of the smoke
    profile unless the run profile is ``smoke``: name it to use it anyway. The reason says the
    model's profile and epochs.
    """
    from utils.config import get_profile

    current = get_profile(profile).name
    if name:
        path = Path(name)
        if not path.is_absolute() and not path.exists() and (config.home() / path).exists():
            path = config.home() / path  # e.g. "models/NAME.keras" named from inside notebooks/
        return path, f"named by you; {describe_model(path)}"
    from utils.runs import best_json_path, read_best_run

    models = config.models_dir()
    shown_best = config.relative(best_json_path(current))
    notes = []
    try:
        record = read_best_run(current)
    except ValueError:
        record = None
        notes.append(f"{shown_best} is unreadable")
    if record is not None:
        path = Path(record["model_path"])
        path = path if path.is_absolute() else config.home() / path
        if not path.is_file():
            notes.append(f"{shown_best} names {config.relative(path)}, which is missing")
        elif record.get("profile") == "smoke" and current != "smoke":
            notes.append(f"{shown_best} names a smoke-profile run (not used)")
        elif (refused := _refusal(path, current)) is not None:
            notes.append(f"{shown_best}: {refused} (not used)")
        else:
            score = record.get("val_loss")
            why = f"the best run recorded in {shown_best} ({record.get('run', path.stem)}"
            why += f", validation loss {score:.4f}" if isinstance(score, (int, float)) else ""
            return path, why + f"); {describe_model(path)}"
    found = sorted(models.glob("*.keras"), key=lambda p: p.stat().st_mtime, reverse=True) if models.is_dir() else []
    refused = []
    for path in found:
        reason = _refusal(path, current)
        if reason is None:
            note = "; ".join(notes)
            return path, (note + "; so " if note else "") + f"the newest model in models/; {describe_model(path)}"
        refused.append(reason)
    if refused:
        notes.append(f"not used by default: {'; '.join(refused[:3])}" + (f" and {len(refused) - 3} more" if len(refused) > 3 else ""))
    raise PredictionError(
        ("; ".join(notes) + ". " if notes else "")
        + "No usable model in models/: train one (notebooks 03-07, `python -m utils.train`, or run notebook 08, "
        "which trains a small one) or pass --model PATH to use a model anyway."
    )
