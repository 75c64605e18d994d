"""Issue 15: a learner's work is never lost, concurrent runs are safe, and every bad input gets
one clear message. One test (or more) per item of the issue; each fails on the code before it."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from utils import paths

ROOT = Path(__file__).resolve().parent.parent
quiet = dict(say=lambda *_: None)


# --- helpers -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jpegs(shared_data):
    """{name: bytes} of 24 real training images (12 cats, 12 dogs) and 6 real test images."""
    found = {}
    with zipfile.ZipFile(shared_data / "dogs-vs-cats-sample" / "train.zip") as zf:
        for i in range(12):
            for kind in ("cat", "dog"):
                found[f"train/{kind}.{i}.jpg"] = zf.read(f"train/{kind}.{i}.jpg")
    with zipfile.ZipFile(shared_data / "dogs-vs-cats-sample" / "test.zip") as zf:
        for i in range(1, 7):
            found[f"test/{i}.jpg"] = zf.read(f"test/{i}.jpg")
    return found


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def kaggle_folder(folder: Path, jpegs: dict, train_name="train.zip") -> Path:
    make_zip(folder / train_name, {k: v for k, v in jpegs.items() if k.startswith("train/")})
    make_zip(folder / "test.zip", {k: v for k, v in jpegs.items() if k.startswith("test/")})
    return folder


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    return tmp_path / "home"


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "\x1b[" not in text


# --- 1. the tests never touch the learner's workspace (see also tests/test_workspace.py) -----

def test_the_test_session_runs_in_a_temporary_home():
    assert paths.home() != ROOT.resolve()
    assert not str(paths.home()).startswith(str(ROOT.resolve()))


def test_browser_screenshots_go_outside_the_repository(monkeypatch):
    from tests.test_browser_tensorboard import screenshot_dir

    monkeypatch.delenv("CATSDOGS_SCREENSHOTS", raising=False)
    assert ROOT.resolve() not in screenshot_dir().resolve().parents
    monkeypatch.setenv("CATSDOGS_SCREENSHOTS", str(ROOT / "docs" / "images"))  # make refresh-screenshots
    assert screenshot_dir() == ROOT / "docs" / "images"


# --- 2 and 9. make series: no tracked file rewritten, a message not a traceback, quiet kernel ---

def _notebook(path: Path, *sources: str) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), path)
    return path


@pytest.mark.slow
def test_series_writes_executed_copies_elsewhere_and_prints_only_the_message(tmp_path):
    good = _notebook(tmp_path / "01_good.ipynb", "import tensorflow as tf\nprint(int(tf.constant(41) + 1))")
    bad = _notebook(tmp_path / "02_bad.ipynb",
                    "from utils.sources import DataNotFound\nraise DataNotFound('No cats-vs-dogs images were found.')")
    before = good.read_bytes(), bad.read_bytes()
    out = tmp_path / "executed"
    env = {k: v for k, v in os.environ.items() if k != "CATSDOGS_HEADLESS"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_series.py"), str(good), str(bad),
                           "--profile", "smoke", "--output-dir", str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    printed = done.stdout + done.stderr
    assert done.returncode == 1, printed
    assert (good.read_bytes(), bad.read_bytes()) == before  # the notebooks given are never rewritten
    assert (out / good.name).is_file(), printed
    executed = nbformat.read(out / good.name, as_version=4)
    assert "42" in executed.cells[0].outputs[0]["text"]
    assert not (out / bad.name).exists()
    assert "DataNotFound: No cats-vs-dogs images were found." in printed
    assert no_traceback(printed), printed
    assert "without encryption" not in printed and "cuda" not in printed.lower() and "oneDNN" not in printed, printed


def test_series_saves_to_build_executed_by_default_and_in_place_only_when_asked():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run_series
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert run_series.OUTPUT_DIR == ROOT / "build" / "executed"
    assert "build/" in (ROOT / ".gitignore").read_text()
    makefile = (ROOT / "Makefile").read_text()
    series = makefile.split("\nseries:")[1].split("\n\n")[0]
    assert "--in-place" not in series
    assert "--in-place" in makefile.split("\nrefresh-notebooks:")[1].split("\n\n")[0]


def test_keras_prints_one_line_per_epoch_when_output_is_not_a_terminal():
    env = {k: v for k, v in os.environ.items() if k != "CATSDOGS_HEADLESS"}
    done = subprocess.run([sys.executable, "-c", "from utils.progress import keras_verbose; print(keras_verbose())"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.stdout.strip() == "2", done.stderr


# --- 3. the best-run record is per profile; utils.submit says and refuses --------------------

def _run_on_disk(home: Path, run: str, profile: str | None, finished: bool = True, epochs: int = 1) -> Path:
    (home / "logs" / run).mkdir(parents=True)
    (home / "models").mkdir(parents=True, exist_ok=True)
    model = home / "models" / f"{run}.keras"
    model.write_bytes(b"weights")
    info = {"run": run, "variant": "baseline", "profile": profile, "epochs_run": epochs,
            "best_val_loss": 0.3, "best_val_accuracy": 0.9, "model_path": f"models/{run}.keras"}
    (home / "logs" / run / "started.json").write_text(json.dumps({"run": run, "profile": profile}))
    if finished:
        (home / "logs" / run / "run.json").write_text(json.dumps(info))
    return model


def test_best_run_record_is_per_profile_and_a_smoke_run_never_becomes_the_default(home):
    from utils.tensorboard_logs import best_json_path, record_best_run

    _run_on_disk(home, "smoke-run", "smoke")
    _run_on_disk(home, "default-run", "default", epochs=35)
    ranking = pd.DataFrame({"run": ["smoke-run", "default-run"], "variant": ["baseline"] * 2,
                            "model_val_loss": [0.1, 0.3], "model_val_accuracy": [0.95, 0.87]})
    assert best_json_path("default").name == "best.json" and best_json_path("smoke").name == "best-smoke.json"
    smoke = record_best_run(ranking, profile="smoke")
    assert smoke["run"] == "smoke-run" and best_json_path("smoke").is_file()
    assert not best_json_path("default").exists()  # a smoke record never replaces the default one
    default = record_best_run(ranking, profile="default")
    assert default["run"] == "default-run" and default["epochs_run"] == 35
    assert json.loads(best_json_path("default").read_text())["run"] == "default-run"


def test_submit_refuses_smoke_and_unfinished_models_unless_named(home):
    from utils.prediction import PredictionError
    from utils.submit import choose_model

    smoke = _run_on_disk(home, "smoke-run", "smoke")
    # the case: an old models/best.json that names a smoke run
    (home / "models" / "best.json").write_text(json.dumps({"run": "smoke-run", "model_path": "models/smoke-run.keras",
                                                           "profile": "smoke"}))
    unfinished = _run_on_disk(home, "interrupted", "default", finished=False)
    with pytest.raises(PredictionError) as error:
        choose_model(profile="default")
    assert "smoke" in str(error.value) and "unfinished" in str(error.value) and "--model" in str(error.value)
    path, why = choose_model(unfinished, profile="default")  # named: used, and said
    assert path == unfinished and "UNFINISHED" in why
    path, why = choose_model(smoke, profile="default")
    assert path == smoke and "profile smoke, 1 epoch" in why
    good = _run_on_disk(home, "good-run", "default", epochs=35)
    os.utime(unfinished, (2e9, 2e9))  # the interrupted run's checkpoint is the newest file
    path, why = choose_model(profile="default")
    assert path == good and "profile default, 35 epoch(s)" in why
    (home / "models" / "best-smoke.json").write_text(json.dumps({"run": "smoke-run", "profile": "smoke",
                                                                 "model_path": "models/smoke-run.keras"}))
    assert choose_model(profile="smoke")[0] == smoke  # the smoke profile uses its own record


# --- 4. Kaggle: only with an explicit opt-in; the tests stop only their own TensorBoards -------

@pytest.fixture
def fake_kaggle(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "kaggle-args.txt"
    program = bin_dir / "kaggle"
    program.write_text(f"#!{sys.executable}\nimport sys\nopen({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "kaggle-config").mkdir()
    (tmp_path / "kaggle-config" / "kaggle.json").write_text("{}")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))
    monkeypatch.delenv("CATSDOGS_SUBMIT", raising=False)
    return record


def test_credentials_alone_never_submit(fake_kaggle, tmp_path, monkeypatch):
    from utils import kaggle_submit

    csv = tmp_path / "submission.csv"
    csv.write_text("id,label\n1,0.5\n")
    result = kaggle_submit.submit(csv, "m")  # what notebook 08 ran with credentials present
    assert not result.ran and "opt-in" in result.message and not fake_kaggle.exists()
    monkeypatch.setenv("CATSDOGS_SUBMIT", "1")
    assert not kaggle_submit.submit(csv, "m", confirm=False).ran
    assert kaggle_submit.submit(csv, "m").ran and fake_kaggle.exists()
    monkeypatch.delenv("CATSDOGS_SUBMIT")
    fake_kaggle.unlink()
    assert kaggle_submit.submit(csv, "m", confirm=True).ran and fake_kaggle.exists()


def test_the_session_stops_only_tensorboards_it_recorded(tmp_path):
    import conftest

    sleeper = "import time; time.sleep(120)"
    ours = subprocess.Popen([sys.executable, "-c", sleeper, "tensorboard", "--logdir", "x"])
    someone_elses = subprocess.Popen([sys.executable, "-c", sleeper, "tensorboard", "--logdir", "y"])
    not_tensorboard = subprocess.Popen([sys.executable, "-c", sleeper])
    try:
        info = tmp_path / "tmp" / ".tensorboard-info"
        info.mkdir(parents=True)
        for proc in (ours, not_tensorboard):
            (info / f"pid-{proc.pid}.info").write_text("{}")
        pids = conftest.tensorboard_pids(tmp_path)
        assert sorted(pids) == sorted([ours.pid, not_tensorboard.pid])
        assert conftest.stop_tensorboards(pids) == [ours.pid]
        assert ours.wait(10) is not None
        assert someone_elses.poll() is None and not_tensorboard.poll() is None
    finally:
        for proc in (ours, someone_elses, not_tensorboard):
            proc.kill()
            proc.wait()
