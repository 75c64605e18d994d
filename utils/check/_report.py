"""How every exercise check answers: one line, "correct" or a hint, never the answer; never raises.

A check returns True or False, so a solution cell can ``assert`` it, while an exercise left blank
(``...``) or an answer of the wrong type only prints what to do: later cells still run.
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


def verdict(exercise: str, ok: bool, hint: str, praise: str = "") -> bool:
    """Print ``Exercise <n>: correct.`` (with an optional remark) or ``Exercise <n>: not yet.`` and the hint."""
    if ok:
        print(f"Exercise {exercise}: correct." + (f" {praise}" if praise else ""))
    else:
        print(f"Exercise {exercise}: not yet. Hint: {hint}")
    return bool(ok)


def exercise(number: str) -> Callable:
    """Decorate a check: blank answers and answers that cannot be read print a message, not a traceback.

    The decorated function returns ``(ok, hint)`` or ``(ok, hint, praise)``.
    """
    def wrap(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> bool:
            if is_blank(*args, *kwargs.values()):
                print(f"Exercise {number}: {BLANK}")
                return False
            try:
                result = check(*args, **kwargs)
            except Exception as error:  # a learner's answer of an unexpected kind: say so, do not crash
                print(f"Exercise {number}: not yet. Your answer could not be checked "
                      f"({type(error).__name__}: {error}); see the exercise for the kind of answer expected.")
                return False
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
