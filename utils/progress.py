"""Progress bars for long work (introduced in notebook 01).

In JupyterLab you get tqdm's widget bar; in a headless run (``CATSDOGS_HEADLESS=1``, set by
``make series`` and the tests, or a command whose output goes to a file or pipe rather than a
terminal) a plain text bar on stdout that updates rarely and is wiped when the work is done
(``leave=False``), as a terminal would show it: the line the caller prints next says what was
done, so the saved notebooks hold no bars (a log file keeps the bar's carriage-return frames,
which ``cat`` on a terminal overwrites, leaving the caller's line). Keras then prints one line per epoch
(``verbose=2``), not one per step.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterable

from utils.config import headless

if TYPE_CHECKING:
    from tqdm import tqdm


def keras_verbose() -> int:
    """Keras' ``verbose``: 1 (a live bar per step) in a terminal or notebook, 2 (one line per epoch) headless."""
    return 2 if headless() else 1


def progress(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)``: a widget in notebooks; when headless, quiet text wiped at the end."""
    if headless():
        from tqdm import tqdm

        kwargs.setdefault("file", sys.stdout)
        kwargs.setdefault("mininterval", 30.0)
        kwargs.setdefault("ascii", True)
        kwargs.setdefault("ncols", 80)
        kwargs.setdefault("leave", False)
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)
