"""Every relative link in the project's Markdown files leads to a file that exists, and to a heading
that exists in it when the link names one (the README and its benchmark notes, bench/README.md, link
into each other's sections)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "TEACHING.md", "bench/README.md", "data/README.md", "logs/README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation but '-' and '_'
    dropped, spaces made '-'."""
    headings = [line.lstrip("#").strip() for line in text.splitlines() if re.match(r"#{1,6} ", line)]
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_heading_anchors_follow_githubs_rule():
    text = "# Benchmark notes\n## One idea at a time on `deeper`, on validation (`bench/ideas.py`)\n" \
           "## More data, the same recipe (`--add-training`)\nnot # a heading"
    assert heading_anchors(text) == {"benchmark-notes", "one-idea-at-a-time-on-deeper-on-validation-benchideaspy",
                                     "more-data-the-same-recipe---add-training"}


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_resolves(doc):
    source = ROOT / doc
    links = [link for link in LINK.findall(source.read_text()) if not re.match(r"[a-z]+:", link)]
    broken = []
    for link in links:
        target, _, anchor = link.partition("#")
        path = (source.parent / target).resolve() if target else source
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and anchor not in heading_anchors(path.read_text()):
            broken.append(f"{link}: no heading with that anchor in {path.relative_to(ROOT)}")
    assert not broken, f"{doc}: " + "; ".join(broken)
    print(f"{doc}: {len(links)} relative links resolve")


def test_the_readme_and_its_benchmark_notes_link_to_each_other():
    readme, notes = (ROOT / "README.md").read_text(), (ROOT / "bench/README.md").read_text()
    assert "(bench/README.md" in readme.split("## Measured results", 1)[1].split("\n## ", 1)[0]
    assert "(../README.md#measured-results)" in notes
    # every benchmark script is listed in the benchmark notes' table
    for script in sorted((ROOT / "bench").glob("*.py")):
        assert f"| `bench/{script.name}` |" in notes, script.name
