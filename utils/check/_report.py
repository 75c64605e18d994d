"""How every exercise check answers: one line, "correct" or a hint, never the answer; never raises.

A check returns a :class:`Verdict`, true when the answer is right, so a solution cell can
``assert`` it, while an exercise left blank (``...``) or an answer of the wrong type only prints
what to do: later cells still run. The verdict shows nothing more in a notebook: the check has
already printed its line, and an echoed ``False`` under "no answer yet" would only confuse.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

BLANK = "no answer yet: replace each `...` in the cell with your answer, then run it again."


def is_blank(*answers: Any) -> bool:
    """True when any answer (or any value of a dict answer) is still the placeholder ``...`` (or None)."""
    for answer in answers:
        if isinstance(answer, dict) and is_blank(*answer.values()):
            return True
        if answer is Ellipsis or answer is None:
            return True
    return False


class Verdict:
    """What a check found: ``bool(verdict)`` is True when the answer is right; it displays nothing."""

    def __init__(self, correct: bool):
        self.correct = bool(correct)

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return f"Verdict(correct={self.correct})"

    def _ipython_display_(self) -> None:
        """As the last value of a cell: show nothing, the check has printed its line."""


def verdict(exercise: str, ok: bool, hint: str, praise: str = "") -> Verdict:
    """Print ``Exercise <n>: correct.`` (with an optional remark) or ``Exercise <n>: not yet.`` and the hint."""
    if ok:
        print(f"Exercise {exercise}: correct." + (f" {praise}" if praise else ""))
    else:
        print(f"Exercise {exercise}: not yet. Hint: {hint}")
    return Verdict(ok)


def exercise(number: str) -> Callable:
    """Decorate a check: blank answers and answers that cannot be read print a message, not a traceback.

    The decorated function returns ``(ok, hint)`` or ``(ok, hint, praise)``.
    """
    def wrap(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> Verdict:
            if is_blank(*args, *kwargs.values()):
                print(f"Exercise {number}: {BLANK}")
                return Verdict(False)
            try:
                result = check(*args, **kwargs)
            except Exception as error:  # a learner's answer of an unexpected kind: say so, do not crash
                print(f"Exercise {number}: not yet. Your answer could not be checked "
                      f"({type(error).__name__}: {error}); see the exercise for the kind of answer expected.")
                return Verdict(False)
            return verdict(number, *result)

        run.exercise = number
        return run
    return wrap


def close(answer: Any, expected: float, rel: float = 0.02) -> bool:
    """``answer`` is a number within ``rel`` (relative) of ``expected``."""
    return abs(float(answer) - expected) <= rel * abs(expected)


def same_choice(answer: Any, expected: str) -> bool:
    """A multiple-choice answer: the letter, case and spaces ignored ("b", " B ", "(b)")."""
    return str(answer).strip().strip("()").lower() == expected
