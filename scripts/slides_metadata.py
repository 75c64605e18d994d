"""Set reveal.js slide metadata (``cell.metadata.slideshow.slide_type``) on notebooks by fixed rules.

Usage: python scripts/slides_metadata.py [NOTEBOOK ...]   (default: notebooks 02 and 03)

The rules, first match wins, so the result depends only on each cell's type, source, tags and
outputs (running it twice changes nothing):

1. a cell tagged ``solution``                       -> ``skip``  (solutions stay out of the deck)
2. the first code cell (imports and set-up)          -> ``skip``
3. a code cell that only reports the run's duration  -> ``skip``
4. the first markdown cell (the title)               -> ``slide``
5. a markdown cell starting with ``## ``             -> ``slide``     (a new section, left/right)
6. a markdown cell starting with ``### ``            -> ``subslide``  (a step inside it, up/down)
7. a figure cell (an image or HTML output, or a ``plot_*``/``plt.``/``explore(`` call) -> ``subslide``,
   so the figure gets a slide of its own at full width
8. a code cell longer than ``LONG_CODE_LINES`` lines -> ``notes`` (the speaker view, key S)
9. any other code cell                               -> ``fragment`` (appears on the next key press)
10. any other markdown cell                          -> ``-`` (continues the current slide)

Only the ``slideshow`` key of cell metadata is written; sources and outputs are untouched.
``scripts/normalise_notebook.py`` keeps that key.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOKS = [ROOT / "notebooks" / "02_convolution_and_pooling.ipynb", ROOT / "notebooks" / "03_baseline_cnn.ipynb"]
LONG_CODE_LINES = 12
FIGURE_CALL = re.compile(r"\bplot_\w+\(|\bplt\.|\bexplore\(|display\(HTML\(")
FIGURE_OUTPUT = {"image/png", "image/jpeg", "image/svg+xml", "text/html"}
DURATION_ONLY = re.compile(r"^print\(f?[\"'].*(took|ran in).*(RUN_START|notebook_start|start)", re.S)


def is_figure_cell(cell) -> bool:
    if cell.cell_type != "code":
        return False
    outputs = {mime for output in cell.get("outputs", []) for mime in output.get("data", {})}
    return bool(outputs & FIGURE_OUTPUT) or bool(FIGURE_CALL.search(cell.source))


def slide_type(cell, *, first_code: bool, first_markdown: bool) -> str:
    source = cell.source.lstrip()
    if "solution" in cell.get("metadata", {}).get("tags", []):
        return "skip"
    if cell.cell_type == "code":
        if first_code or DURATION_ONLY.match(source):
            return "skip"
        if is_figure_cell(cell):
            return "subslide"
        return "notes" if len(cell.source.splitlines()) > LONG_CODE_LINES else "fragment"
    if first_markdown or source.startswith("## "):
        return "slide"
    if source.startswith("### "):
        return "subslide"
    return "-"


def apply(nb):
    """Set every cell's slide type in place; return the notebook."""
    seen_code = seen_markdown = False
    for cell in nb.cells:
        if cell.cell_type not in ("code", "markdown"):
            continue
        kind = slide_type(cell, first_code=cell.cell_type == "code" and not seen_code,
                          first_markdown=cell.cell_type == "markdown" and not seen_markdown)
        seen_code |= cell.cell_type == "code"
        seen_markdown |= cell.cell_type == "markdown"
        cell.metadata["slideshow"] = {"slide_type": kind}
    return nb


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or DEFAULT_NOTEBOOKS
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        after = nbformat.writes(apply(nb))
        if after != before:
            nbformat.write(nb, path)
        counts = {}
        for cell in nb.cells:
            kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
            counts[kind] = counts.get(kind, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        print(f"{'updated' if after != before else 'unchanged'} {path.name}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
