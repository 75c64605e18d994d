"""Where the images are: the source's archives extracted under ``data/extracted/``, and every file
found there with its role from its name and folder (labelled, test, unrecognised) (notebook 01)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pandas as pd

from utils import config
from utils.data.archives import extract
from utils.data.sources import DataSource

KAGGLE_NAME = re.compile(r"^(cat|dog)\.\d+\.jpe?g$", re.IGNORECASE)
TEST_NAME = re.compile(r"^(\d+)\.jpe?g$", re.IGNORECASE)
CLASS_FOLDERS = {"cat": 0, "cats": 0, "dog": 1, "dogs": 1}
NOT_DATA = {".extracted", ".ds_store", "thumbs.db", "sample_submission.csv", "readme.md", "license.txt"}


def role_of(path: Path) -> tuple[str, int, int]:
    """('labelled', label, -1), ('test', -1, id) or ('unrecognised', -1, -1) from a file's name and folder
    (notebook 01)."""
    if KAGGLE_NAME.match(path.name):
        return "labelled", 0 if path.name.lower().startswith("cat") else 1, -1
    if path.suffix.lower() in (".jpg", ".jpeg") and path.parent.name.lower() in CLASS_FOLDERS:
        return "labelled", CLASS_FOLDERS[path.parent.name.lower()], -1
    test = TEST_NAME.match(path.name)
    if test and path.parent.name.lower() == "test":
        return "test", -1, int(test[1])
    return "unrecognised", -1, -1


def materialise(source: DataSource, data_dir: Path, say: Callable[[str], object] = print) -> list[Path]:
    """Extract the source's archives (and archives inside them) under data/extracted/; return image folders
    (notebook 01)."""
    roots, pending = [], [(item, "") for item in source.items]
    while pending:
        item, prefix = pending.pop(0)
        if item.is_dir():
            roots.append(item)
            continue
        # An archive inside another one gets its own folder (competition-train/), never the
        # folder of a train.zip given directly: the two would replace each other on every run.
        target = data_dir / "extracted" / f"{prefix}{item.stem.lower()}"
        marker = target / ".extracted"
        before = marker.read_bytes() if marker.is_file() else None
        extract(item, target)
        already = before is not None and before == marker.read_bytes()
        say(f"{'Already extracted' if already else 'Extracted'} {item.name} -> {config.relative(target)}/")
        inner = sorted(p for p in target.rglob("*.zip"))
        pending.extend((p, f"{target.name}-") for p in inner)
        if not inner:
            roots.append(target)
        elif any(p.suffix.lower() != ".zip" and p.name != ".extracted" and p.is_file()
                 and p.suffix.lower() != ".csv" for p in target.rglob("*")):
            roots.append(target)
        for csv in target.rglob("sample_submission.csv"):
            source.sample_submission = source.sample_submission or csv
    return roots


def index_files(roots: list[Path]) -> pd.DataFrame:
    """Every file under the image folders with its role (labelled / test / unrecognised) (notebook 01)."""
    rows = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.lower() in NOT_DATA or path.suffix.lower() == ".zip":
                continue
            if any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts):
                continue
            role, label, test_id = role_of(path)
            rows.append({"filepath": str(path), "role": role, "label": label, "id": test_id})
    return pd.DataFrame(rows, columns=["filepath", "role", "label", "id"])
