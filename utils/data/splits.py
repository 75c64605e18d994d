"""A deterministic, stratified train/validation split (introduced in notebook 01).

Each image gets a sort key from a hash of its content and the seed, so the order is the same on
every run, machine and library version (no random-number generator involved). Taking a prefix
of that order per class gives a balanced subset whose size the run profile sets; a larger
profile's subset contains the smaller one's. Exact duplicates share a key, so they always land
in the same split and validation never sees an image that is also in training.
"""
from __future__ import annotations

import hashlib

import pandas as pd

from utils.config import SEED


def order_key(sha256: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{sha256}".encode()).hexdigest()


def split_labelled(
    frame: pd.DataFrame, max_labelled: int | None, validation_fraction: float, seed: int = SEED
) -> pd.DataFrame:
    """Pick up to ``max_labelled`` images (half per class) and mark each 'train' or 'validation' (notebook 01).

    ``frame`` needs ``path``, ``label`` and ``sha256`` columns. Returns the chosen rows with a
    ``split`` column, sorted by split then path.
    """
    chosen = []
    per_class = None if max_labelled is None else max_labelled // 2
    for label, rows in frame.groupby("label", sort=True):
        groups = rows.assign(_key=[order_key(s, seed) for s in rows["sha256"]])
        keys = groups.drop_duplicates("_key")["_key"].sort_values(kind="stable").tolist()
        taken, n = [], 0
        sizes = groups.groupby("_key").size()
        for key in keys:
            if per_class is not None and n >= per_class:
                break
            taken.append(key)
            n += int(sizes[key])
        n_validation = round(n * validation_fraction)
        validation, count = set(), 0
        for key in taken:
            if count >= n_validation:
                break
            validation.add(key)
            count += int(sizes[key])
        part = groups[groups["_key"].isin(taken)].copy()
        part["split"] = ["validation" if k in validation else "train" for k in part["_key"]]
        chosen.append(part.drop(columns="_key"))
    result = pd.concat(chosen, ignore_index=True) if chosen else frame.assign(split=[])
    return result.sort_values(["split", "path"], kind="stable").reset_index(drop=True)
