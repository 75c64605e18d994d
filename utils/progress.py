"""Progress bars for long work (introduced in notebook 01).

In JupyterLab you get tqdm's widget bar; in a headless run (``CATSDOGS_HEADLESS=1``, set by
``make series`` and the tests) a plain text bar on stdout that updates rarely, so the saved
notebooks stay readable.
"""
from __future__ import annotations

import os
import sys


def headless() -> bool:
    return os.environ.get("CATSDOGS_HEADLESS", "") not in ("", "0")


def progress(iterable=None, **kwargs):
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
