"""Softening over-sure P(dog) with a temperature, and choosing it on the validation split (notebook 08).

A network trained with cross-entropy is often surer than it is right (Guo et al., "On calibration
of modern neural networks", ICML 2017). Temperature scaling divides the logit of every answer,
log(P(dog) / P(cat)), by one number T: T > 1 pulls every answer towards 0.5, T < 1 pushes it
away, and no answer changes side of 0.5, so accuracy stays the same. T is chosen like the
clipping bound: on one half of the validation split, by the log loss, and reported on the other.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from utils.evaluate import log_loss
from utils.submission.clipping import held_out_choice
from utils.submission.ids import SubmissionError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

# 0.5 to 3 in steps of 0.05: 1 (no change) is one of them
DEFAULT_TEMPERATURES = tuple(round(0.5 + 0.05 * i, 2) for i in range(51))
EDGE = 1e-7  # P(dog) is kept this far from 0 and 1 before its logit is taken (a saturated softmax gives 1.0)


def check_temperature(temperature) -> float:
    """``temperature`` as a float, or :class:`SubmissionError` saying what a temperature must be."""
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(temperature, bool) or not math.isfinite(value) or value <= 0:
        raise SubmissionError(f"The temperature must be a positive number (1 leaves P(dog) unchanged, "
                              f"notebook 08 chooses one on validation), not {temperature!r}.")
    return value


def logit(probabilities: ArrayLike) -> np.ndarray:
    """log(P / (1 - P)), with P kept :data:`EDGE` away from 0 and 1 (notebook 08)."""
    p = np.clip(np.asarray(probabilities, dtype="float64"), EDGE, 1 - EDGE)
    return np.log(p) - np.log1p(-p)


def soften(probabilities: ArrayLike, temperature: float) -> np.ndarray:
    """P(dog) with its logit divided by ``temperature`` (1: unchanged) (notebook 08)."""
    temperature = check_temperature(temperature)
    p = np.asarray(probabilities, dtype="float64")
    if temperature == 1.0:
        return p.copy()
    return 1.0 / (1.0 + np.exp(-logit(p) / temperature))


def temperature_curve(labels: ArrayLike, probabilities: ArrayLike, temperatures: Sequence[float]) -> pd.DataFrame:
    """Log loss for each temperature (columns ``temperature``, ``log_loss``) (notebook 08)."""
    return pd.DataFrame([{"temperature": float(t), "log_loss": log_loss(labels, soften(probabilities, t))}
                         for t in temperatures])


def best_temperature(labels: ArrayLike, probabilities: ArrayLike, temperatures: Sequence[float] | None = None) -> float:
    """The temperature with the lowest log loss (of equals, the one closest to 1) (notebook 08)."""
    curve = temperature_curve(labels, probabilities, DEFAULT_TEMPERATURES if temperatures is None else temperatures)
    tied = curve[curve["log_loss"] <= curve["log_loss"].min() + 1e-12]
    return float(tied.loc[(np.log(tied["temperature"])).abs().idxmin(), "temperature"])


def held_out_temperature(labels: ArrayLike, probabilities: ArrayLike, temperatures: Sequence[float] | None = None,
                         seed: int = 0) -> pd.DataFrame:
    """Choose the temperature on one half of the validation split, score it on the other (notebook 08).

    The halves are :func:`validation_halves`' (those the clipping bound uses). Two rows:
    ``chosen_on`` "A" / "B", the ``temperature`` chosen there, and on the *other* half the log loss
    as the model gives it (``held_out_plain``) and softened (``held_out_softened``). Row "A" is the
    choice a submission uses; row "B" shows how much the choice moves with the images.
    """
    return held_out_choice(labels, probabilities, lambda y, p: best_temperature(y, p, temperatures), soften,
                           "temperature", "held_out_plain", "held_out_softened", seed)
