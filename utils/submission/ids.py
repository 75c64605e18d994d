"""Kaggle ids: the number in a test image's file name, numeric order, and the ids of
``sample_submission.csv`` (notebook 08)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

HEADER = ("id", "label")
_NUMERIC_STEM = re.compile(r"^[0-9]+$")
MAX_ID_DIGITS = 18  # every such id fits the int64 column of the CSV


class SubmissionError(ValueError):
    """A submission cannot be built or failed its checks; the message says what to do (notebook 08)."""


class SubmissionExistsError(SubmissionError, FileExistsError):
    """The output file exists and overwriting it was not asked for (notebook 08)."""


def parse_id(name: str | os.PathLike) -> int:
    """The Kaggle id in a test image's file name: ``"123.jpg"`` -> 123 (notebook 08).

    Raises :class:`SubmissionError` for a name that is not a number (``cat.1.jpg``).
    """
    stem = Path(name).name.split(".", 1)[0]
    if not _NUMERIC_STEM.match(stem):
        raise SubmissionError(
            f"{Path(name).name!r} is not named by a numeric Kaggle id (like 123.jpg); "
            "Kaggle's test images are named 1.jpg ... 12500.jpg."
        )
    if len(stem.lstrip("0")) > MAX_ID_DIGITS:
        raise SubmissionError(
            f"{Path(name).name[:40]!r}: the id is too large ({len(stem)} digits); "
            "Kaggle's test images are named 1.jpg ... 12500.jpg."
        )
    return int(stem)


def numeric_order(names: Iterable[str | os.PathLike]) -> list:
    """``names`` sorted by their numeric id (1, 2, 10), not as strings (1, 10, 2) (notebook 08)."""
    return sorted(names, key=parse_id)


def _as_id(value) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 1:
            raise SubmissionError(f"Kaggle ids are positive integers, not {value}.")
        return int(value)
    return parse_id(str(value))


def read_sample_ids(sample: str | os.PathLike) -> np.ndarray:
    """The ids listed in Kaggle's ``sample_submission.csv`` (notebook 08)."""
    frame = pd.read_csv(sample)
    if list(frame.columns) != list(HEADER):
        raise SubmissionError(f"{Path(sample).name} does not start with the header id,label.")
    return frame["id"].to_numpy(dtype="int64")
