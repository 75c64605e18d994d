"""Time to read and time to run come from the series runner (issue 17, item 4).

The committed notebook headers and the README table agree with notebooks/timings.json, and a run
of scripts/run_series.py with --record-timings records a notebook's time and rewrites its header
line and its README row. The recording run works on copies in a temporary folder.
"""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
series_timings = importlib.import_module("series_timings")
run_series = importlib.import_module("run_series")


def test_headers_and_readme_show_the_recorded_times():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "series_timings.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_notebook_header_has_the_generated_line():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        assert series_timings.HEADER.search(first), path.name
        assert "**Time to run**, measured by `scripts/run_series.py`" in first, path.name


def test_reading_time_grows_with_the_text():
    short = new_notebook(cells=[new_markdown_cell("word " * 100)])
    long = new_notebook(cells=[new_markdown_cell("word " * 4000), new_code_cell("x = 1\n" * 100)])
    assert series_timings.reading_minutes(short) == 5
    assert series_timings.reading_minutes(long) == 30  # 20 min of prose + 10 of code


@pytest.fixture
def project(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = new_notebook(cells=[new_markdown_cell("# Tiny\n\n<!-- timings --><!-- /timings -->\nMore."),
                             new_code_cell("print('hello')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebooks / "01_tiny.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text("| # | Notebook | What you learn | read | smoke | default | full |\n"
                      "|---|---|---|---:|---:|---:|---:|\n"
                      "| 01 | [Tiny](notebooks/01_tiny.ipynb) | printing | | | | |\n\n"
                      "<!-- notebook-times --><!-- /notebook-times -->\n")
    monkeypatch.setattr(series_timings, "TIMINGS", notebooks / "timings.json")
    monkeypatch.setattr(series_timings, "README", readme)
    monkeypatch.setenv("CATSDOGS_PROFILE", "smoke")
    monkeypatch.setenv("CATSDOGS_HEADLESS", "1")
    return tmp_path


def test_the_runner_records_the_time_and_rewrites_header_and_readme(project):
    path = project / "notebooks" / "01_tiny.ipynb"
    assert run_series.main([str(path), "--profile", "smoke", "--no-save", "--record-timings"]) == 0
    recorded = json.loads((project / "notebooks" / "timings.json").read_text())["smoke"]["01_tiny"]
    assert recorded["minutes"] >= 0 and recorded["date"] and "logical CPUs" in recorded["machine"]
    header = nbformat.read(path, as_version=4).cells[0].source
    assert "in `smoke` (" in header and "`default` not measured yet" in header and header.endswith("More.")
    row = next(line for line in (project / "README.md").read_text().splitlines() if line.startswith("| 01 |"))
    assert row.split("|")[5].strip() == f"{recorded['minutes']:.1f}" and row.split("|")[6].strip() == "–"
    assert "`smoke` on " in (project / "README.md").read_text()
    notebooks = [path]
    assert series_timings.stale(notebooks, series_timings.load()) == []
    changed = series_timings.record(series_timings.load(), "smoke", {"01_tiny": 600.0}, "another machine")
    assert series_timings.stale(notebooks, changed) == ["01_tiny.ipynb", "README.md"]


def test_a_header_without_the_line_gets_one_clear_message(project):
    path = project / "notebooks" / "01_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "# Tiny"
    nbformat.write(nb, path)
    with pytest.raises(SystemExit, match="has no <!-- timings -->"):
        series_timings.update_header(path, {})
