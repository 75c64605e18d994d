"""Clipping P(dog) into ``[bound, 1 - bound]``, and choosing the bound on the validation split (notebook 08)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from utils.evaluate import log_loss  # Kaggle's score, one definition for the course
from utils.submission.ids import SubmissionError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def clip_probabilities(probabilities: ArrayLike, bound: float | None) -> np.ndarray:
    """``probabilities`` clipped into ``[bound, 1 - bound]`` (``None`` or 0: unchanged) (notebook 08)."""
    p = np.asarray(probabilities, dtype="float64")
    if not bound:
        return p.copy()
    if not 0.0 <= bound < 0.5:
        raise SubmissionError(f"The clipping bound must be in [0, 0.5), not {bound}.")
    return np.clip(p, bound, 1.0 - bound)


def clipping_curve(labels: ArrayLike, probabilities: ArrayLike, bounds: Sequence[float]) -> pd.DataFrame:
    """Validation log loss for each clipping bound (columns ``bound``, ``log_loss``) (notebook 08)."""
    rows = [
        {"bound": float(b), "log_loss": log_loss(labels, clip_probabilities(probabilities, b))}
        for b in bounds
    ]
    return pd.DataFrame(rows)


def best_clip_bound(labels: ArrayLike, probabilities: ArrayLike, bounds: Sequence[float] | None = None) -> float:
    """The bound with the lowest validation log loss (the smallest one on a tie) (notebook 08)."""
    if bounds is None:
        bounds = DEFAULT_BOUNDS
    curve = clipping_curve(labels, probabilities, bounds)
    best = curve["log_loss"].min()
    return float(curve.loc[curve["log_loss"] <= best + 1e-12, "bound"].min())


DEFAULT_BOUNDS = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2)


def validation_halves(labels: ArrayLike, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of the validation indices, each with half of every class (notebook 08).

    One half chooses a setting (the clipping bound), the other reports what it is worth: a
    score measured on the images that chose it would be optimistic.
    """
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    first, second = [], []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        rng.shuffle(members)
        cut = (len(members) + 1) // 2
        first.append(members[:cut])
        second.append(members[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def held_out_choice(labels: ArrayLike, probabilities: ArrayLike, choose, apply, setting: str, before: str,
                    after: str, seed: int = 0) -> pd.DataFrame:
    """A setting chosen on one half of the validation split and scored on the other, both ways (notebook 08).

    ``choose(labels, p)`` picks the setting on one half; ``apply(p, setting)`` is P(dog) with it.
    Two rows: ``chosen_on`` "A" / "B", the setting chosen there (column ``setting``), and on the
    *other* half (``scored_on``) the log loss without it (column ``before``) and with it (``after``).
    """
    y = np.asarray(labels).reshape(-1)
    p = np.asarray(probabilities, dtype="float64").reshape(-1)
    if y.shape != p.shape:
        raise SubmissionError(f"{y.shape[0]} labels but {p.shape[0]} probabilities: they must pair up.")
    half_a, half_b = validation_halves(y, seed)
    rows = []
    for name, chosen_on, scored_on, other in (("A", half_a, half_b, "B"), ("B", half_b, half_a, "A")):
        value = choose(y[chosen_on], p[chosen_on])
        rows.append({
            "chosen_on": name, "images_chosen_on": len(chosen_on), setting: value, "scored_on": other,
            "images_scored_on": len(scored_on),
            before: log_loss(y[scored_on], p[scored_on]),
            after: log_loss(y[scored_on], apply(p[scored_on], value)),
        })
    return pd.DataFrame(rows)


def held_out_clip_bound(labels: ArrayLike, probabilities: ArrayLike, bounds: Sequence[float] | None = None,
                        seed: int = 0) -> pd.DataFrame:
    """Choose the clipping bound on one half of the validation split, score it on the other (notebook 08).

    Two rows (2-fold cross-validation): ``chosen_on`` "A" / "B", the ``bound`` chosen there with
    :func:`best_clip_bound`, and on the *other* half (``scored_on``) the log loss without clipping
    (``held_out_unclipped``) and clipped at that bound (``held_out_clipped``). Row "A" is the
    choice a submission uses; row "B" shows how much the choice moves with the images.
    """
    return held_out_choice(labels, probabilities, lambda y, p: best_clip_bound(y, p, bounds), clip_probabilities,
                           "bound", "held_out_unclipped", "held_out_clipped", seed)
