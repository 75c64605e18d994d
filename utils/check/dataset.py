"""Checks for notebook 01's exercises (build the dataset)."""
from __future__ import annotations

from typing import Any

from utils.check._report import close, exercise

BYTES_FLOAT32 = 4


@exercise("01.1")
def duplicate_copy(report_field: str, same_split: bool) -> tuple[bool, str]:
    """Where a renamed copy of a training image shows up, and whether both copies share a split (notebook 01)."""
    field = str(report_field).strip().lower().removeprefix("report.")
    if field != "duplicates":
        return False, ("which of the report's lists groups files with identical content? Print `report` "
                       "after rebuilding and look for your copy.")
    if same_split is not True:
        return False, "the split key is computed from each file's content hash, not from its name."
    return True, ""


@exercise("01.2")
def reseeded_split(first: Any, second: Any) -> tuple[bool, str, str]:
    """Two splits of the same labelled images with different seeds: other validation images, still balanced
    (notebook 01)."""
    valid = [set(f.loc[f["split"] == "validation", "path"]) for f in (first, second)]
    if valid[0] == valid[1]:
        return False, ("both frames have the same validation images: pass a different `seed=` to "
                       "`split_labelled` for the second one."), ""
    for f in (first, second):
        counts = f[f["split"] == "validation"]["label"].value_counts()
        if len(counts) != 2 or counts.max() - counts.min() > 1:
            return False, "one of the splits is not balanced: build both with `split_labelled` on the labelled rows.", ""
    overlap = len(valid[0] & valid[1]) / max(len(valid[0]), 1)
    return True, "", f"{overlap:.0%} of the validation images of one split are validation images of the other too; each is balanced."


@exercise("01.3")
def loader_memory_gb(answer: float) -> tuple[bool, str]:
    """Memory in GB (or GiB) for 25,000 colour images of 224x224 as the seed loader stores them (notebook 01)."""
    values = 25_000 * 224 * 224 * 3
    if close(answer, values * BYTES_FLOAT32 / 1e9) or close(answer, values * BYTES_FLOAT32 / 2**30):
        return True, ""
    if close(answer, values / 1e9) or close(answer, values / 2**30):
        return False, "that is one byte per value; the seed's loader stores float32 pixels. How many bytes is that?"
    return False, "multiply images x height x width x channels x bytes per value, then divide by 1e9 for GB."
