"""A test run never touches the learner's workspace (issue 15, item 1).

A copy of the project (its tracked files) gets a learner's state: a best model record, a
submission, a finished run. A test and a notebook that write through ``utils.config`` (as every
notebook and helper does) then run under pytest + nbval there, as ``make test`` runs them,
with no ``CATSDOGS_HOME`` set. Every file of the copy must be byte for byte as before.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

WRITING_TEST = '''
from utils import config


def test_writes_through_the_course_paths():
    for folder in (config.data_dir(), config.models_dir(), config.logs_dir() / "smoke-run"):
        folder.mkdir(parents=True, exist_ok=True)
    (config.models_dir() / "best.json").write_text('{"run": "smoke-run"}')
    (config.logs_dir() / "smoke-run" / "run.json").write_text("{}")
    (config.data_dir() / "manifest-smoke.csv").write_text("path\\n")
    (config.home() / "submission.csv").write_text("id,label\\n1,0.5\\n")
'''

NOTEBOOK_CODE = '''
from utils import config

(config.models_dir()).mkdir(parents=True, exist_ok=True)
(config.models_dir() / "best.json").write_text('{"run": "notebook-run"}')
(config.home() / "submission.csv").write_text("id,label\\n1,0.1\\n")
(config.logs_dir() / "notebook-run").mkdir(parents=True, exist_ok=True)
print(config.home())
'''


def tracked_files(root: Path) -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"`git ls-files` failed in {root} ({error}): the tests run in a git checkout.")
    return [name for name in listed.decode().split("\0") if name]


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (caches of Python and pytest aside)."""
    state = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".pytest_cache" not in path.parts:
            state[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@pytest.mark.slow
def test_a_test_run_leaves_data_models_logs_submission_and_tracked_files_alone(tmp_path):
    project = tmp_path / "project"
    for name in tracked_files(ROOT):
        source = ROOT / name
        if source.is_file() and not name.endswith(".ipynb"):  # the course's notebooks are not needed here
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    # The learner's work: a best model, a submission, a finished run, a manifest.
    (project / "models").mkdir()
    (project / "models" / "best.json").write_text(json.dumps({"run": "learner-run", "profile": "default"}))
    (project / "models" / "learner-run.keras").write_bytes(b"weights")
    (project / "logs" / "learner-run").mkdir(parents=True)
    (project / "logs" / "learner-run" / "run.json").write_text(json.dumps({"run": "learner-run"}))
    (project / "data" / "manifest-default.csv").write_text("path,label\n")
    (project / "submission.csv").write_text("id,label\n1,0.87\n")
    (project / "tests" / "test_zz_writes.py").write_text(WRITING_TEST)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CODE)])
    (project / "notebooks").mkdir(exist_ok=True)
    nbformat.write(notebook, project / "notebooks" / "99_writes.ipynb")
    before = snapshot(project)

    env = {k: v for k, v in os.environ.items() if k not in ("CATSDOGS_HOME", "TMPDIR", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(project)  # utils from the copy, in pytest and in the notebook's kernel
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_zz_writes.py", "notebooks/99_writes.ipynb"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout, done.stdout[-2000:]
    after = snapshot(project)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the test run changed the learner's files: {changed}"
