"""Checks for notebook 08's exercises (a Kaggle submission)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from utils.check._report import close, exercise


@exercise("08.1")
def constant_log_loss(answer: float) -> tuple[bool, str, str]:
    """The log loss of answering P(dog) = 0.5 for every image (notebook 08)."""
    if close(answer, math.log(2), rel=0.001):
        return True, "", "Any model worth submitting must beat it."
    if close(answer, math.log2(2), rel=0.001) or close(answer, math.log10(2), rel=0.001):
        return False, "log loss uses the natural logarithm.", ""
    return False, "each image costs -log P(right answer), whatever its label: log_loss(y_val, np.full(len(y_val), 0.5)).", ""


@exercise("08.2")
def three_views(p_three: Any, p_two: Any) -> tuple[bool, str, str]:
    """P(dog) averaged over image, mirror and a 90% central zoom, one value per validation image (notebook 08)."""
    p_three, p_two = np.asarray(p_three, dtype=float).ravel(), np.asarray(p_two, dtype=float).ravel()
    if p_three.shape != p_two.shape:
        return False, f"one P(dog) per validation image: {len(p_two)} values, in the same order (you have {len(p_three)}).", ""
    if p_three.min() < 0 or p_three.max() > 1:
        return False, "average probabilities (each between 0 and 1), not scores.", ""
    if np.allclose(p_three, p_two, atol=1e-6):
        return False, "these are the two-view predictions: add the zoomed view to the average.", ""
    if np.corrcoef(p_three, p_two)[0, 1] < 0.8:
        return False, "the three-view average should stay close to the two-view one: check the order of the images.", ""
    return True, "", "Now compare the two log losses."


@exercise("08.3")
def bad_file_name_exit_code(code: int) -> tuple[bool, str]:
    """The exit code of ``python -m utils.submit`` when an image is named ``cat.jpg`` (notebook 08)."""
    return int(code) == 2, "run the command and print its return code (echo $? in a terminal)."
