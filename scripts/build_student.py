"""Build the student edition of the series: ``build/student/`` and a zip to hand out.

Usage: python scripts/build_student.py [--out build/student]

Each notebook in ``notebooks/`` goes through nbconvert's own preprocessors (Python API):

* ``TagRemovePreprocessor`` removes every cell tagged ``solution`` (code or markdown);
* ``KeepFiguresPreprocessor`` (below, a small ``nbconvert`` ``Preprocessor``) applies the
  output rule: **keep figures, clear everything else**. A code cell keeps only its image
  outputs (PNG, JPEG, SVG); printed text, tables, generated prose, HTML, errors and execution
  counts are cleared.

Why that rule: the text around a figure often depends on seeing it ("the figure above", the
kernels' feature maps in 02, the loader comparison in 01), and a learner reading the notebook
before running it should see the same pictures the text talks about. Printed numbers, tables
and the generated sentences are what the learner's own run produces (on their data, their
profile, their machine): leaving the maintainer's numbers in would show results the exercise
asks them to find, and numbers that disagree with their run.

The exercises (markdown) and self-check cells are not tagged ``solution`` and stay.

The zip ``catsdogs-student.zip`` holds one folder ``catsdogs-student/`` with the student
notebooks, ``utils/``, the install files, the README, ``data/README.md`` and ``logs/README.md``,
plus the few screenshots in ``docs/images/`` that a student notebook's markdown shows. No data,
models, logs or solutions.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import List, Unicode
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
ZIP_NAME = "catsdogs-student.zip"
ZIP_FOLDER = "catsdogs-student"
SOLUTION_TAG = "solution"
# Files a student needs besides the notebooks and utils/ (paths relative to the repository root).
SUPPORT_FILES = ["README.md", "requirements.txt", "environment.yml", "pyproject.toml",
                 "data/README.md", "logs/README.md"]
LOCAL_IMAGE = re.compile(r"!\[[^\]]*\]\((\.\./docs/images/[^)\s]+\.png)\)")
# A fixed time for every zip entry, so the same sources give the same zip.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class KeepFiguresPreprocessor(Preprocessor):
    """Clear every code cell's outputs except figures (image outputs), and its execution count."""

    figure_types = List(Unicode(), default_value=["image/png", "image/jpeg", "image/svg+xml"]).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = {k: v for k, v in output.get("data", {}).items() if k in self.figure_types}
            if not data:
                continue
            metadata = {k: v for k, v in output.get("metadata", {}).items() if k in self.figure_types}
            kept.append(nbformat.v4.new_output("display_data", data=data, metadata=metadata))
        cell.outputs = kept
        cell.execution_count = None
        return cell, resources


def student_exporter() -> NotebookExporter:
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = {SOLUTION_TAG}
    config.TagRemovePreprocessor.enabled = True
    exporter = NotebookExporter(config=config)  # runs nbconvert's TagRemovePreprocessor (enabled above)
    exporter.register_preprocessor(KeepFiguresPreprocessor(config=config), enabled=True)
    return exporter


def solution_cells(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])]


def build_notebooks(source: Path, out: Path) -> list[Path]:
    exporter = student_exporter()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.glob("[0-9][0-9]_*.ipynb")):
        body, _ = exporter.from_filename(str(path))
        nb = nbformat.reads(body, as_version=4)
        left = solution_cells(nb)
        if left:  # never hand out a solution, whatever happens to the preprocessors
            raise SystemExit(f"{path.name}: cells {left} are still tagged {SOLUTION_TAG!r} after the build")
        target = out / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def referenced_images(notebooks: list[Path]) -> list[str]:
    """Repository paths of the docs/images screenshots that the student notebooks' markdown shows."""
    found = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                found.update(m.removeprefix("../") for m in LOCAL_IMAGE.findall(cell.source))
    return sorted(found)


def write_zip(out: Path, notebooks: list[Path], root: Path = ROOT) -> Path:
    entries: list[tuple[str, Path]] = [(f"notebooks/{p.name}", p) for p in notebooks]
    entries += [(p.relative_to(root).as_posix(), p) for p in sorted((root / "utils").rglob("*.py"))]
    entries += [(name, root / name) for name in SUPPORT_FILES + referenced_images(notebooks)]
    missing = [name for name, path in entries if not path.is_file()]
    if missing:
        raise SystemExit(f"missing from the repository: {missing}")
    target = out / ZIP_NAME
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(f"{ZIP_FOLDER}/{name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return target


def build(out: Path, root: Path = ROOT) -> Path:
    if out.exists():
        shutil.rmtree(out)
    notebooks = build_notebooks(root / "notebooks", out / "notebooks")
    return write_zip(out, notebooks, root)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = parser.parse_args(argv)
    target = build(args.out.resolve())
    with zipfile.ZipFile(target) as archive:
        count = len(archive.namelist())
    print(f"wrote {args.out}/notebooks/ and {target.name} ({count} files, {target.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
