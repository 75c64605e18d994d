"""TEACHING.md covers every notebook with the same parts, and the README links it (issue #17)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "TEACHING.md").read_text()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARTS = ["**Objectives.**", "**Prerequisites.**", "**50-minute plan.**", "**Misconceptions addressed.**",
         "**Homework.**", "**Before class.**"]


def _section(number: str) -> str:
    match = re.search(rf"^## {number} · .*?(?=^## |\Z)", GUIDE, re.M | re.S)
    assert match, f"TEACHING.md has no '## {number} · ...' section"
    return match.group(0)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_a_full_section(notebook):
    section = _section(notebook.name[:2])
    for part in PARTS:
        assert part in section, f"{notebook.name}: no {part}"
    plan = section.split("**50-minute plan.**", 1)[1]
    rows = re.findall(r"^\| (\d+)–(\d+) \|", plan, re.M)
    assert rows and rows[0][0] == "0" and rows[-1][1] == "50", f"{notebook.name}: the plan should run 0 to 50 minutes"
    assert all(int(a) < int(b) for a, b in rows) and all(rows[i][1] == rows[i + 1][0] for i in range(len(rows) - 1))


def test_the_misconceptions_the_issue_names_are_addressed():
    for words in ["cross-correlation", "more epochs is always better", "Accuracy is Kaggle's metric"]:
        assert words.lower() in GUIDE.lower(), words


def test_first_cell_snippet_and_links():
    snippet = GUIDE.split("## First cell for learners outside this repository", 1)[1]
    for needed in ["git clone", "pip install -r requirements.txt", "pip install --no-deps -e .", "CATSDOGS_DATA",
                   "kaggle.json"]:
        assert needed in snippet, needed
    readme = (ROOT / "README.md").read_text()
    assert "## Teaching with this series" in readme and "(TEACHING.md)" in readme
    for text in (readme, GUIDE):
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text):
            assert (ROOT / image).is_file(), image
    assert (ROOT / "docs/images/slides_02_convolution.png").stat().st_size < 300_000
