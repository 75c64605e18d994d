"""The ``id,label`` CSV: built, checked against ``sample_submission.csv``, and written whole or not at all,
never over an existing file unless asked (notebook 08)."""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from utils.submission.clipping import clip_probabilities
from utils.submission.ids import HEADER, SubmissionError, SubmissionExistsError, _as_id, read_sample_ids

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def build_submission(ids: ArrayLike, probabilities: ArrayLike, clip: float | None = None) -> pd.DataFrame:
    """An ``id,label`` frame sorted by numeric id, with ``label`` = clipped P(dog) (notebook 08)."""
    ids = np.asarray(ids)
    p = np.asarray(probabilities, dtype="float64").reshape(-1)
    if ids.shape[0] != p.shape[0]:
        raise SubmissionError(f"{ids.shape[0]} ids but {p.shape[0]} probabilities: they must pair up.")
    if ids.shape[0] == 0:
        raise SubmissionError("No predictions to write: no test images were read.")
    int_ids = np.array([_as_id(i) for i in ids], dtype="int64")
    if not np.all(np.isfinite(p)):
        raise SubmissionError("Some probabilities are NaN or infinite; the model output is broken.")
    if p.min() < 0.0 or p.max() > 1.0:
        raise SubmissionError("Probabilities must lie in [0, 1]; pass P(dog), not raw scores.")
    frame = pd.DataFrame({"id": int_ids, "label": clip_probabilities(p, clip)})
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def find_sample_submission(*folders: str | os.PathLike | None) -> Path | None:
    """The first ``sample_submission.csv`` in ``folders`` (and the data folders), or None (notebook 08)."""
    from utils import config

    candidates = [Path(f) for f in folders if f]
    if config.data_override() is not None:
        candidates.append(config.data_override())
    candidates += [config.data_dir(), config.raw_dir()]
    for folder in candidates:
        for place in (folder, folder.parent):
            sample = place / "sample_submission.csv"
            if sample.is_file():
                return sample
    return None


def validate_submission(
    submission: str | os.PathLike | pd.DataFrame,
    sample: str | os.PathLike | None = None,
    expected_ids: Iterable[int] | None = None,
    allow_subset: bool = False,
) -> list[str]:
    """Every problem found in a submission (an empty list means it is valid) (notebook 08).

    Checks the header is exactly ``id,label``, ids are unique positive integers in numeric
    order, labels are numbers in [0, 1]; against ``sample`` (Kaggle's sample_submission.csv)
    the same ids and count, or with ``allow_subset`` ids that all appear in it (a run on part
    of the test set); and against ``expected_ids`` (the images predicted) exactly those ids.
    """
    problems: list[str] = []
    if isinstance(submission, pd.DataFrame):
        frame = submission.copy()
        header = tuple(str(c) for c in frame.columns)
    else:
        path = Path(submission)
        if not path.is_file():
            return [f"{path.name} does not exist."]
        with open(path, newline="") as handle:
            header = tuple(next(csv.reader(handle), []))
        frame = None
    if header != HEADER:
        problems.append(f"The header is {','.join(header) or '(empty)'!r}; it must be exactly 'id,label'.")
        return problems
    if frame is None:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if len(frame) == 0:
        return problems + ["The file has a header but no rows."]

    ids = pd.to_numeric(frame["id"].astype(str).str.strip(), errors="coerce")
    bad_ids = frame.loc[ids.isna() | (ids % 1 != 0) | (ids < 1), "id"]
    if len(bad_ids):
        problems.append(f"{len(bad_ids)} id(s) are not positive integers, e.g. {list(bad_ids.astype(str)[:3])}.")
    labels = pd.to_numeric(frame["label"].astype(str).str.strip(), errors="coerce")
    bad_labels = frame.loc[labels.isna() | (labels < 0) | (labels > 1), "label"]
    if len(bad_labels):
        problems.append(
            f"{len(bad_labels)} label(s) are not probabilities in [0, 1], e.g. {list(bad_labels.astype(str)[:3])}."
        )
    if problems:
        return problems
    ids = ids.astype("int64").to_numpy()
    duplicated = sorted(set(ids[pd.Series(ids).duplicated().to_numpy()].tolist()))
    if duplicated:
        problems.append(f"{len(duplicated)} id(s) appear more than once, e.g. {duplicated[:3]}.")
    if np.any(np.diff(ids) < 0):
        problems.append("The rows are not sorted by numeric id (1, 2, 10 -- not 1, 10, 2).")

    if sample is not None:
        sample_ids = read_sample_ids(sample)
        unknown = sorted(set(ids.tolist()) - set(sample_ids.tolist()))
        missing = sorted(set(sample_ids.tolist()) - set(ids.tolist()))
        if unknown:
            problems.append(
                f"{len(unknown)} id(s) are not in {Path(sample).name}, e.g. {unknown[:3]}."
            )
        if not allow_subset and (missing or len(ids) != len(sample_ids)):
            problems.append(
                f"{len(ids)} rows but {Path(sample).name} has {len(sample_ids)}"
                + (f"; missing ids, e.g. {missing[:3]}" if missing else "")
                + ". Kaggle needs one row per test image."
            )
    if expected_ids is not None:
        expected = np.asarray(sorted(int(i) for i in expected_ids), dtype="int64")
        if len(expected) != len(ids) or not np.array_equal(np.sort(ids), expected):
            problems.append(
                f"The file has {len(ids)} rows but {len(expected)} images were predicted; "
                "their ids differ."
            )
    return problems


def keep_previous(path: str | os.PathLike, folder: str | os.PathLike | None = None) -> Path | None:
    """Move an existing ``path`` aside (to ``models/previous-submissions/``) and return where (notebook 08).

    Notebook 08 calls this before writing ``submission.csv`` again, so an earlier submission is
    kept rather than overwritten. Returns None when there was nothing to keep.
    """
    from datetime import datetime

    from utils import config

    path = Path(path)
    if not path.exists():
        return None
    folder = Path(folder) if folder else config.models_dir() / "previous-submissions"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
    target, n = folder / f"{path.stem}-{stamp}{path.suffix}", 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}-{stamp}-{n}{path.suffix}"
    os.replace(path, target) if target.parent.stat().st_dev == path.parent.stat().st_dev else _copy_move(path, target)
    return target


def _copy_move(source: Path, target: Path) -> None:
    import shutil

    shutil.copy2(source, target)
    source.unlink()


def write_submission(
    ids: ArrayLike,
    probabilities: ArrayLike,
    path: str | os.PathLike,
    *,
    clip: float | None = None,
    sample: str | os.PathLike | None = None,
    allow_subset: bool = False,
    force: bool = False,
) -> Path:
    """Write a checked ``id,label`` CSV to ``path`` and return it (notebook 08).

    The file is written beside ``path`` under a temporary name, validated (see
    :func:`validate_submission`) and only then moved into place, so a failing file is never
    left behind and an existing ``path`` is replaced only with ``force=True``.
    """
    path = Path(path)
    if path.exists() and not force:
        raise SubmissionExistsError(
            f"{path.name} already exists; choose another name or pass force=True (--force) to replace it."
        )
    if path.is_dir():
        raise SubmissionError(f"{path} is a folder; give a file name such as submission.csv.")
    frame = build_submission(ids, probabilities, clip=clip)
    problems = validate_submission(frame, sample=sample, expected_ids=frame["id"], allow_subset=allow_subset)
    if problems:
        raise SubmissionError("The submission was not written:\n- " + "\n- ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="") as out:
            frame.to_csv(out, index=False, float_format="%.6f", lineterminator="\n")
        problems = validate_submission(temporary, sample=sample, expected_ids=frame["id"], allow_subset=allow_subset)
        if problems:
            raise SubmissionError("The written file failed its checks:\n- " + "\n- ".join(problems))
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a submission is an ordinary file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
