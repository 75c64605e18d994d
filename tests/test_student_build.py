"""The student edition (``make student``, scripts/build_student.py): no solution reaches it, it
keeps figures and clears every other output, its zip holds what a student needs and nothing
else, and every student notebook still runs top to bottom (smoke profile) from the unpacked zip.

Everything is built into a temporary folder, never into the repository's build/.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION_HEADING = re.compile(r"^\s*(#+\s*|\*\*)Solutions?\b", re.M)


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_student", ROOT / "scripts" / "build_student.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    builder.build(out)
    return out


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(built / builder.ZIP_NAME) as archive:
        archive.extractall(target)
    return target / builder.ZIP_FOLDER


def _student_notebooks(built: Path) -> list[Path]:
    return sorted((built / "notebooks").glob("*.ipynb"))


def test_every_notebook_is_built(built):
    assert [p.name for p in _student_notebooks(built)] == [p.name for p in SOURCE_NOTEBOOKS]
    assert len(SOURCE_NOTEBOOKS) >= 9


def test_the_sources_carry_solutions_to_remove():
    """The build has something to remove: each notebook's exercise solutions are tagged cells."""
    without = [p.name for p in SOURCE_NOTEBOOKS if not any("solution" in _tags(c) for c in nbformat.read(p, 4).cells)]
    assert not without, f"notebooks without a cell tagged 'solution': {without}"


def test_no_solution_reaches_the_student_notebooks(built):
    for source in SOURCE_NOTEBOOKS:
        original = nbformat.read(source, as_version=4)
        student = nbformat.read(built / "notebooks" / source.name, as_version=4)
        solutions = [c.source for c in original.cells if "solution" in _tags(c)]
        assert not [c for c in student.cells if "solution" in _tags(c)], source.name
        assert len(student.cells) == len(original.cells) - len(solutions), source.name
        texts = [c.source for c in student.cells]
        for solution in solutions:
            assert solution not in texts, f"{source.name}: a solution's text survived"
        for cell in student.cells:
            assert not SOLUTION_HEADING.search(cell.source), f"{source.name}: untagged solutions?\n{cell.source[:300]}"
            assert "<details" not in cell.source, f"{source.name}: a <details> block (solutions?)\n{cell.source[:300]}"


def test_exercises_are_kept(built):
    for path in _student_notebooks(built):
        cells = nbformat.read(path, as_version=4).cells
        assert any(re.search(r"^#+\s*Exercises", c.source, re.M) for c in cells if c.cell_type == "markdown"), path.name


def test_output_rule_keeps_figures_and_clears_everything_else(built):
    kept_any = False
    for source in SOURCE_NOTEBOOKS:
        original = [c for c in nbformat.read(source, as_version=4).cells if "solution" not in _tags(c)]
        student = nbformat.read(built / "notebooks" / source.name, as_version=4).cells
        for before, after in zip(original, student, strict=True):
            assert before.source == after.source
            if after.cell_type != "code":
                continue
            assert after.execution_count is None
            for output in after.outputs:
                assert output.output_type == "display_data", (source.name, output.output_type)
                assert set(output.data) <= {"image/png", "image/jpeg", "image/svg+xml"}, (source.name, set(output.data))
            figures = [o["data"]["image/png"] for o in before.get("outputs", []) if "image/png" in o.get("data", {})]
            assert [o.data["image/png"] for o in after.outputs if "image/png" in o.data] == figures
            kept_any = kept_any or bool(figures)
    assert kept_any, "no figure kept at all: the committed notebooks have figures (02's kernels, at least)"


def test_output_rule_on_a_made_up_notebook(tmp_path):
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("## Exercises\n1. Compute it."),
        v4.new_code_cell("answer = 42\nprint(answer)", execution_count=3, outputs=[
            v4.new_output("stream", name="stdout", text="42\n")], metadata={"tags": ["solution"]}),
        v4.new_markdown_cell("**Solutions**\n\n1. 42", metadata={"tags": ["solution", "other"]}),
        v4.new_code_cell("plot()", execution_count=4, outputs=[
            v4.new_output("stream", name="stderr", text="a warning\n"),
            v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
            v4.new_output("execute_result", data={"text/plain": "0.93", "text/html": "<b>0.93</b>"}, execution_count=4),
            v4.new_output("error", ename="ValueError", evalue="x", traceback=[]),
        ]),
        v4.new_code_cell("check(answer)", metadata={"tags": ["check"]}),
    ])
    path = tmp_path / "made_up.ipynb"
    nbformat.write(nb, path)
    body, _ = builder.student_exporter().from_filename(str(path))
    cells = nbformat.reads(body, as_version=4).cells
    assert [c.source for c in cells] == ["## Exercises\n1. Compute it.", "plot()", "check(answer)"]
    assert cells[1].execution_count is None
    assert [(o.output_type, dict(o.data)) for o in cells[1].outputs] == [("display_data", {"image/png": "iVBORw0KGgo="})]


def test_zip_holds_what_a_student_needs_and_nothing_else(built):
    with zipfile.ZipFile(built / builder.ZIP_NAME) as archive:
        names = archive.namelist()
        notebooks = {n: nbformat.reads(archive.read(n).decode(), as_version=4)
                     for n in names if n.endswith(".ipynb")}
    prefix = builder.ZIP_FOLDER + "/"
    assert all(n.startswith(prefix) for n in names)
    inner = {n.removeprefix(prefix) for n in names}
    needed = {f"notebooks/{p.name}" for p in SOURCE_NOTEBOOKS} | set(builder.SUPPORT_FILES)
    needed |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "utils").rglob("*.py")}
    assert "utils/data/dataset.py" in needed  # the sub-packages of the layers too
    assert needed <= inner, sorted(needed - inner)
    for name in inner:
        assert not name.startswith(("models/", "tests/", "bench/", "scripts/", "build/")), name
        if name.startswith(("data/", "logs/")):
            assert name.endswith("/README.md"), name
        assert not re.search(r"\.(jpe?g|keras|h5|zip|csv|npy|npz|tfevents.*)$", name), name
        assert "__pycache__" not in name and ".ipynb_checkpoints" not in name, name
        if name.endswith(".png"):  # only the screenshots a student notebook shows
            assert name.startswith("docs/images/"), name
            assert any(f"../{name}" in c.source for nb in notebooks.values() for c in nb.cells), name
    for name, nb in notebooks.items():
        assert not [c for c in nb.cells if "solution" in _tags(c)], name
    assert (built / builder.ZIP_NAME).stat().st_size < 20_000_000


def test_the_zip_is_reproducible(built, tmp_path):
    builder.build(tmp_path / "again")
    assert (tmp_path / "again" / builder.ZIP_NAME).read_bytes() == (built / builder.ZIP_NAME).read_bytes()


@pytest.fixture(scope="module")
def student_env(unpacked, tmp_path_factory):
    """The kernel's environment: the unpacked zip's utils/ first on the path, a temporary home."""
    env = {
        "CATSDOGS_HOME": str(tmp_path_factory.mktemp("student-home")),
        "CATSDOGS_PROFILE": "smoke",
        "CATSDOGS_HEADLESS": "1",
        "PYTHONPATH": str(unpacked),
    }
    if not os.environ.get("CATSDOGS_DATA"):
        pytest.skip("CATSDOGS_DATA is not set (conftest sets it to ../shared/data/dogs-vs-cats-sample)")
    found = subprocess.run([sys.executable, "-c", "import utils; print(utils.__file__)"], env={**os.environ, **env},
                           cwd=unpacked / "notebooks", capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found).resolve() == (unpacked / "utils" / "__init__.py").resolve(), found
    return env


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in SOURCE_NOTEBOOKS])
def test_student_notebook_runs_top_to_bottom(name, unpacked, student_env, monkeypatch):
    """In order, in one home (later notebooks use the models and logs of earlier ones)."""
    from nbclient import NotebookClient

    for key, value in student_env.items():
        monkeypatch.setenv(key, value)
    path = unpacked / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert not list(unpacked.glob("data/*.csv")), "wrote into the unpacked project instead of CATSDOGS_HOME"
