"""Progress bars for long work (introduced in notebook 01).

In JupyterLab you get tqdm's widget bar; in a headless run (``CATSDOGS_HEADLESS=1``, set by
``make series`` and the tests, or a command whose output goes to a file or pipe rather than a
terminal) a plain text bar on stdout that updates rarely, so the saved notebooks and logs stay
readable; Keras then prints one line per epoch (``verbose=2``), not one per step.
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
    """``tqdm(iterable, **kwargs)``, as a widget in notebooks and as quiet text when headless."""
    if headless():
        from tqdm import tqdm

        kwargs.setdefault("file", sys.stdout)
        kwargs.setdefault("mininterval", 30.0)
        kwargs.setdefault("ascii", True)
        kwargs.setdefault("ncols", 80)
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)
