"""Where the course reads and writes (introduced in notebook 01).

Everything a run produces stays inside the project folder, in folders git ignores:
``data/`` (archives, extracted images, manifests), ``models/`` (checkpoints),
``logs/`` (TensorBoard runs). Set ``CATSDOGS_HOME`` to put them somewhere else.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The folder holding data/, models/ and logs/ (the project root unless CATSDOGS_HOME is set)."""
    return Path(os.environ.get("CATSDOGS_HOME", PROJECT_ROOT)).resolve()


def data_dir() -> Path:
    return home() / "data"


def raw_dir() -> Path:
    """Where a learner drops Kaggle's zips by hand (source b)."""
    return data_dir() / "raw"


def models_dir() -> Path:
    return home() / "models"


def logs_dir() -> Path:
    return home() / "logs"


def relative(path: Path | str) -> str:
    """A path shown to the learner: relative to the project home, never a local absolute path."""
    path = Path(path).resolve()
    try:
        return path.relative_to(home()).as_posix()
    except ValueError:
        return path.name
