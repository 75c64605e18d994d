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

from utils import config

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
    assert config.home() != ROOT.resolve()
    assert not str(config.home()).startswith(str(ROOT.resolve()))


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
                    "from utils.data.sources import DataNotFound\nraise DataNotFound('No cats-vs-dogs images were found.')")
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


def test_series_reads_a_relative_data_folder_from_where_the_command_was_typed(tmp_path):
    """make series runs each kernel in the notebook's folder; CATSDOGS_DATA=../x typed elsewhere must still work."""
    (tmp_path / "mydata").mkdir()
    (tmp_path / "nbs").mkdir()
    probe = _notebook(tmp_path / "nbs" / "01_probe.ipynb",
                      "import os\nfrom pathlib import Path\n"
                      "print(Path(os.environ['CATSDOGS_DATA']).is_absolute(), (Path(os.environ['CATSDOGS_DATA']) / 'here').is_file())")
    (tmp_path / "mydata" / "here").write_text("x")
    env = {**os.environ, "CATSDOGS_DATA": "mydata", "CATSDOGS_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_series.py"), str(probe),
                           "--profile", "smoke", "--output-dir", str(tmp_path / "executed")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    executed = nbformat.read(tmp_path / "executed" / probe.name, as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "True True"


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


def test_a_headless_progress_bar_is_wiped_when_done_and_leaves_the_callers_line():
    """Saved notebooks and logs hold no bars: once the work is done only the caller's summary remains."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from normalise_notebook import normalise
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    script = ("from utils.progress import progress\n"
              "for _ in progress(range(3), desc='Extracting x.zip', unit='file', mininterval=0): pass\n"
              "print('Extracted x.zip')")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "CATSDOGS_HEADLESS": "1"})  # bytes: text mode turns \r into \n
    assert done.returncode == 0, done.stderr
    printed = done.stdout.decode()
    assert "3/3" in printed, "the bar is drawn while the work runs"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", name="stdout", text=printed)])]
    assert normalise(nb).cells[0].outputs[0]["text"] == "Extracted x.zip\n"


# --- 3. the best-run record is per profile; utils.cli.submit says and refuses --------------------

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
    from utils.runs import best_json_path, record_best_run

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
    from utils.predict import PredictionError
    from utils.cli.submit import choose_model

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
def kaggle_calls(fake_kaggle):
    """conftest's fake `kaggle`, with credentials in place: the file it writes when it is run."""
    _, record, config = fake_kaggle
    (config / "kaggle.json").write_text("{}")
    return record


def test_credentials_alone_never_submit(kaggle_calls, tmp_path, monkeypatch):
    from utils import kaggle

    csv = tmp_path / "submission.csv"
    csv.write_text("id,label\n" + "".join(f"{i},0.5\n" for i in range(1, 12_501)))  # a file Kaggle would score
    result = kaggle.submit(csv, "m")  # what notebook 08 ran with credentials present
    assert not result.ran and "opt-in" in result.message and not kaggle_calls.exists()
    monkeypatch.setenv("CATSDOGS_SUBMIT", "1")
    assert not kaggle.submit(csv, "m", confirm=False).ran and not kaggle.submit(csv, "m", run=False).ran
    assert kaggle.submit(csv, "m").ran and kaggle_calls.exists()
    monkeypatch.delenv("CATSDOGS_SUBMIT")
    kaggle_calls.unlink()
    assert kaggle.submit(csv, "m", confirm=True).ran and kaggle_calls.exists()
    kaggle_calls.unlink()
    assert kaggle.submit(csv, "m", run=True).ran and kaggle_calls.exists()  # notebook 08: run=asked and ...


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


# --- 5. concurrent runs -----------------------------------------------------------------------

BUILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.01)
    from utils.data.dataset import prepare_dataset
    report = prepare_dataset("smoke")
    print("ROWS", len(report.frame))
""")


@pytest.mark.slow
def test_two_dataset_builds_at_once_lose_no_image(shared_data, tmp_path):
    env = dict(os.environ, CATSDOGS_HOME=str(tmp_path / "home"),
               CATSDOGS_DATA=str(shared_data / "dogs-vs-cats-sample"), CATSDOGS_HEADLESS="1")
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, str(go)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    go.touch()
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    train = tmp_path / "home" / "data" / "extracted" / "train"
    assert sum(1 for p in train.rglob("*.jpg")) == 4000
    assert json.loads((train / ".extracted").read_text())["members"] == 4000
    assert all("ROWS 280" in out for out in outputs), outputs
    assert not [p.name for p in train.parent.iterdir() if ".partial" in p.name or ".old" in p.name]
    third = subprocess.run([sys.executable, "-c", BUILD, str(go)], env=env, capture_output=True, text=True, timeout=600)
    assert third.stdout.count("Already extracted") == 2, third.stdout


def test_a_run_name_outside_logs_is_refused_by_the_command(home, capsys):
    from utils.cli.train import main

    assert main(["--run-name", "../../x", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "not a usable run name" in err and no_traceback(err)
    assert not (home.parent / "x").exists() and not (home / "x").exists()


# --- 6. interrupted work ----------------------------------------------------------------------

def _event_run(logs: Path, run: str, losses: list[float], finished: bool, profile="smoke") -> None:
    import tensorflow as tf

    for split, scale in (("train", 1.0), ("validation", 1.0)):
        with tf.summary.create_file_writer(str(logs / run / split)).as_default():
            for step, loss in enumerate(losses):
                tf.summary.scalar("epoch_loss", loss * scale, step=step)
                tf.summary.scalar("epoch_accuracy", 1 - loss, step=step)
    (logs / run / "started.json").write_text(json.dumps({"run": run, "profile": profile}))
    if finished:
        (logs / run / "run.json").write_text(json.dumps({"run": run, "profile": profile, "variant": "baseline",
                                                         "best_val_loss": min(losses), "epochs_run": len(losses),
                                                         "model_path": f"models/{run}.keras"}))


def test_unfinished_runs_are_not_ranked_and_listed_as_unfinished(home, capsys):
    from utils.runs import rank_runs
    from utils.cli.train import main

    logs = home / "logs"
    _event_run(logs, "finished-run", [0.6, 0.5], finished=True)
    _event_run(logs, "interrupted-run", [0.4, 0.1], finished=False)  # better scores, but unfinished
    ranking = rank_runs(profile="smoke")
    assert ranking["run"].tolist() == ["finished-run"]
    assert rank_runs()["run"].tolist() == ["finished-run"]
    assert main(["--runs"]) == 0
    printed = capsys.readouterr().out
    line = next(l for l in printed.splitlines() if "interrupted-run" in l)
    assert "UNFINISHED" in line and "1 unfinished run(s)" in printed
    assert "finished" in next(l for l in printed.splitlines() if l.startswith("finished-run") or " finished-run" in l)


def test_ctrl_c_prints_one_line_in_both_commands(home, capsys, monkeypatch, tmp_path):
    import utils.data.dataset
    import utils.cli.submit
    from utils.cli.train import main as train

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(utils.data.dataset, "load_manifest", interrupt)
    assert train(["--profile", "smoke"]) == 130
    err = capsys.readouterr().err
    assert "Interrupted" in err and no_traceback(err) and len(err.strip().splitlines()) == 1
    monkeypatch.setattr(utils.cli.submit, "choose_model", interrupt)
    assert utils.cli.submit.main(["--out", str(tmp_path / "s.csv")]) == 130
    err = capsys.readouterr().err
    assert "Interrupted" in err and "not written" in err and no_traceback(err) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.csv").exists()


# --- 7. data edge cases -----------------------------------------------------------------------

def test_competition_zip_beside_its_train_and_test_zips_counts_each_image_once(home, jpegs, tmp_path, monkeypatch):
    from utils.data.dataset import prepare_dataset

    data = kaggle_folder(tmp_path / "kaggle", jpegs)
    make_zip(data / "dogs-vs-cats-redux-kernels-edition.zip",
             {"train.zip": (data / "train.zip").read_bytes(), "test.zip": (data / "test.zip").read_bytes()})
    monkeypatch.setenv("CATSDOGS_DATA", str(data))
    said = []
    report = prepare_dataset("smoke", say=said.append)
    assert len(report.frame) == 24 + 6 and report.frame["sha256"].nunique() == 30
    assert any("Not using dogs-vs-cats-redux-kernels-edition.zip" in s for s in said), said
    said.clear()
    prepare_dataset("smoke", say=said.append)
    assert sum("Already extracted" in s for s in said) == 2 and not any(s.startswith("Extracted") for s in said), said


def test_competition_zip_alone_is_extracted_once(home, jpegs, tmp_path, monkeypatch):
    from utils.data.dataset import prepare_dataset

    inner = kaggle_folder(tmp_path / "inner", jpegs)
    data = tmp_path / "kaggle"
    make_zip(data / "dogs-vs-cats-redux-kernels-edition.zip",
             {"train.zip": (inner / "train.zip").read_bytes(), "test.zip": (inner / "test.zip").read_bytes()})
    monkeypatch.setenv("CATSDOGS_DATA", str(data))
    assert len(prepare_dataset("smoke", **quiet).frame) == 30
    said = []
    assert len(prepare_dataset("smoke", say=said.append).frame) == 30
    assert sum("Already extracted" in s for s in said) == 3, said


def test_capitalised_train_zip_is_recognised(home, jpegs, tmp_path, monkeypatch):
    from utils.data.dataset import prepare_dataset

    monkeypatch.setenv("CATSDOGS_DATA", str(kaggle_folder(tmp_path / "kaggle", jpegs, train_name="Train.zip")))
    assert (prepare_dataset("smoke", **quiet).frame["label"] >= 0).sum() == 24


def test_one_class_only_is_refused(home, jpegs, tmp_path, monkeypatch):
    from utils.data.dataset import OneClassOnly, prepare_dataset

    cats = {k: v for k, v in jpegs.items() if "/cat." in k}
    make_zip(tmp_path / "cats" / "train.zip", cats)
    monkeypatch.setenv("CATSDOGS_DATA", str(tmp_path / "cats"))
    with pytest.raises(OneClassOnly, match="cat images only .* no dogs"):
        prepare_dataset("smoke", **quiet)
    assert not (home / "data" / "manifest-smoke.csv").exists()


def test_changing_catsdogs_data_rebuilds_the_manifest(home, jpegs, tmp_path, monkeypatch, capsys):
    from utils.data.dataset import load_manifest

    monkeypatch.setenv("CATSDOGS_DATA", str(kaggle_folder(tmp_path / "first", jpegs)))
    assert len(load_manifest("smoke")) == 30
    fewer = {k: v for k, v in jpegs.items() if not k.endswith(("0.jpg", "1.jpg"))}
    monkeypatch.setenv("CATSDOGS_DATA", str(kaggle_folder(tmp_path / "second", fewer)))
    capsys.readouterr()
    frame = load_manifest("smoke")
    assert len(frame) == len(fewer) and "does not match the data found now" in capsys.readouterr().out
    monkeypatch.setenv("CATSDOGS_DATA", str(tmp_path / "nowhere"))
    from utils.data.sources import DataNotFound

    with pytest.raises(DataNotFound, match="does not exist"):
        load_manifest("smoke")


@pytest.mark.parametrize("damage", [b"\x00\xff garbage \x00", b"path,ok\n1,2,3,4,5\n\"unclosed", b""])
def test_a_damaged_image_check_cache_is_rebuilt(home, jpegs, tmp_path, monkeypatch, damage):
    from utils.data.dataset import prepare_dataset

    monkeypatch.setenv("CATSDOGS_DATA", str(kaggle_folder(tmp_path / "kaggle", jpegs)))
    prepare_dataset("smoke", **quiet)
    (home / "data" / "image-checks.csv").write_bytes(damage)
    assert len(prepare_dataset("smoke", **quiet).frame) == 30
    assert len(pd.read_csv(home / "data" / "image-checks.csv")) == 30


def test_a_member_with_a_bad_crc_is_explained_and_leaves_nothing(tmp_path, jpegs):
    from utils.data.archives import ArchiveError, extract

    archive = make_zip(tmp_path / "train.zip", {k: v for k, v in jpegs.items() if k.startswith("train/")})
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("train/cat.3.jpg")
    data[info.header_offset + 30 + len(info.filename) + 500] ^= 0xFF  # stored (not deflated): flips one byte
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="damaged.*cat.3.jpg.*download the archive again"):
        extract(archive, tmp_path / "out" / "train")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["train.lock"]


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    from utils.data.archives import ArchiveError, extract

    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/cat.1.jpg", b"\0" * (40 * 2**20))
    assert archive.stat().st_size < 2**20
    with pytest.raises(ArchiveError, match="zip bomb"):
        extract(archive, tmp_path / "out" / "bomb")
    assert not (tmp_path / "out" / "bomb").exists()


# --- 8. the prediction command ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1, activation="sigmoid")])
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture
def images(jpegs, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name, data in jpegs.items():
        if name.startswith("test/"):
            (folder / Path(name).name).write_bytes(data)
    return folder


def submit(capsys, *args):
    from utils.cli.submit import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert no_traceback(out.out + out.err)
    return code, out.out, out.err


def test_an_id_too_large_for_an_integer(capsys, tiny_model, images, jpegs, tmp_path):
    (images / ("9" * 30 + ".jpg")).write_bytes(jpegs["test/1.jpg"])
    code, _, err = submit(capsys, "--model", tiny_model, "--images", images, "--out", tmp_path / "s.csv", "--sample", "none")
    assert code == 2 and "too large" in err


def test_bad_batch_size_profile_and_output_are_refused_before_work(capsys, tiny_model, images, tmp_path, monkeypatch):
    common = ["--model", tiny_model, "--images", images, "--sample", "none"]
    code, out, err = submit(capsys, *common, "--out", tmp_path / "s.csv", "--batch-size", "0")
    assert code == 2 and "--batch-size must be at least 1" in err and "Model:" not in out
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, out, err = submit(capsys, *common, "--out", blocker / "s.csv")
    assert code == 2 and "is a file, not a folder" in err and "Model:" not in out
    monkeypatch.setenv("CATSDOGS_PROFILE", "smoek")
    code, out, err = submit(capsys, *common, "--out", tmp_path / "s.csv")
    assert code == 2 and "Unknown run profile 'smoek'" in err


def test_a_full_disk_is_one_message_and_no_partial_file(capsys, tiny_model, images, tmp_path, monkeypatch):
    import utils.submission

    real_fdopen = os.fdopen

    def full_disk(fd, *args, **kwargs):  # the temporary file of write_submission: "No space left"
        handle = real_fdopen(fd, *args, **kwargs)
        handle.close()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", full_disk)  # the temporary file utils.submission.writing opens
    code, _, err = submit(capsys, "--model", tiny_model, "--images", images, "--out", tmp_path / "s.csv",
                          "--sample", "none")
    assert code == 1 and "No space left on device" in err and "nothing was written" in err
    assert [p.name for p in tmp_path.iterdir() if p.name != "images"] == []


def test_a_model_with_two_inputs_is_explained(capsys, images, tmp_path):
    import keras

    a, b = keras.Input((32, 32, 3)), keras.Input((32, 32, 3))
    joined = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b])))
    path = tmp_path / "two.keras"
    keras.Model([a, b], joined).save(path)
    code, out, err = submit(capsys, "--model", path, "--images", images, "--out", tmp_path / "s.csv", "--sample", "none")
    assert code == 2 and "takes 2 inputs" in err and "Images:" not in out


def test_nan_outputs_fail_loudly(jpegs, images):
    import keras

    from utils.predict import PredictionError, predict_files

    files = sorted(images.glob("*.jpg"))
    # sqrt(mean brightness - 110): NaN for the darker images only (a partly NaN output)
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Lambda(lambda x: keras.ops.sqrt(keras.ops.mean(x, axis=(1, 2, 3))[:, None] - 110.0))(inputs)
    model = keras.Model(inputs, outputs)
    with pytest.raises(PredictionError, match=r"NaN or infinity for [1-5] of 6 image\(s\)"):
        predict_files(model, files, tta=False, show_progress=False)


def test_duplicate_ids_are_named_before_prediction(capsys, tiny_model, images, jpegs, tmp_path):
    (images / "01.jpg").write_bytes(jpegs["test/1.jpg"])
    (images / "1.JPEG").write_bytes(jpegs["test/1.jpg"])
    code, out, err = submit(capsys, "--model", tiny_model, "--images", images, "--out", tmp_path / "s.csv", "--sample", "none")
    assert code == 2 and "id 1: 01.jpg, 1.JPEG, 1.jpg" in err and "Predicted" not in out


def test_a_missing_model_is_noticed_before_the_images(capsys, images, tmp_path):
    code, out, err = submit(capsys, "--model", tmp_path / "nope.keras", "--images", images, "--out", tmp_path / "s.csv")
    assert code == 2 and "No model file" in err and "Images:" not in out


def test_sub_folders_hidden_files_and_unreadable_images_are_listed(images, jpegs):
    from utils.predict import scan_images

    (images / "more").mkdir()
    (images / "more" / "7.jpg").write_bytes(jpegs["test/1.jpg"])
    (images / ".DS_Store").write_bytes(b"x")
    (images / "8.jpg").write_bytes(b"\xff\xd8\xff" + b"not really a jpeg" * 10)
    report = scan_images(images, show_progress=False).report()
    assert "skipped more/: a folder" in report and "skipped .DS_Store: a hidden file" in report
    assert "skipped 8.jpg: corrupt" in report and "object at 0x" not in report


def test_a_read_only_output_folder_is_refused_before_work(capsys, tiny_model, images, tmp_path, monkeypatch):
    import utils.cli.submit

    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root may write anywhere: ask as a learner's account would be answered
        monkeypatch.setattr(utils.cli.submit.os, "access", lambda path, mode: Path(path) != folder)
    try:
        code, out, err = submit(capsys, "--model", tiny_model, "--images", images, "--out", folder / "s.csv")
    finally:
        folder.chmod(0o755)
    assert code == 2 and "read-only" in err and "Model:" not in out
    assert list(folder.iterdir()) == []


def test_a_damaged_deflate_stream_is_explained_and_leaves_nothing(tmp_path):
    from utils.data.archives import ArchiveError, extract

    archive = tmp_path / "train.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/notes.txt", bytes(range(256)) * 400)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("train/notes.txt")
    start = info.header_offset + 30 + len(info.filename)
    data[start + 5:start + 40] = b"\xff" * 35  # garbage inside the compressed stream
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="damaged"):
        extract(archive, tmp_path / "out" / "train")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["train.lock"]
