"""Reading TensorBoard logs, ranking runs, housekeeping and the server helper (notebook 07).

The logs are real: two tiny Keras models trained for two epochs on real images from the
shared sample, logged with the Keras TensorBoard callback and HParams, as every run of the
course is. The key check: the scalars read from the event files (what TensorBoard shows and
what the static figure/table use) equal Keras' own history (history.csv) for the same run.
"""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils import runs as tbl
from utils import tensorboard as tbs

RUNS = {"tiny_f4": {"filters": 4, "learning_rate": 1e-3}, "tiny_f8": {"filters": 8, "learning_rate": 3e-3}}
EPOCHS = 2


def _tiny_model(filters: int, learning_rate: float):
    import keras

    keras.utils.set_random_seed(42)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_tiny_run(frame: pd.DataFrame, run: str, hparams: dict, epochs: int = EPOCHS) -> Path:
    """Train and log one run under ``CATSDOGS_HOME`` the way the course does; return logs/<run>."""
    from utils import config
    from utils.data.pipeline import make_dataset

    train_ds = make_dataset(frame, "train", image_size=(32, 32), batch_size=16)
    val_ds = make_dataset(frame, "validation", image_size=(32, 32), batch_size=16)
    model = _tiny_model(**hparams)
    from utils.fit import fit_and_log

    fit_and_log(model, train_ds, val_ds, run_name=run, hparams=hparams, epochs=epochs, profile="smoke")
    return config.logs_dir() / run


@pytest.fixture(scope="module")
def home(tmp_path_factory, manifest):
    """A project home (CATSDOGS_HOME) holding two real training runs under logs/."""
    root = tmp_path_factory.mktemp("home")
    frame = pd.concat([
        manifest[manifest["split"] == "train"].groupby("label").head(12),
        manifest[manifest["split"] == "validation"].groupby("label").head(8),
    ])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATSDOGS_HOME", str(root))
        for run, hparams in RUNS.items():
            train_tiny_run(frame, run, hparams)
        yield root


@pytest.fixture
def in_home(home, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(home))
    return home


def test_run_names_lists_every_run_but_not_the_archive(in_home):
    (in_home / "logs" / tbl.ARCHIVE_FOLDER).mkdir(exist_ok=True)
    (in_home / "logs" / "empty_folder").mkdir(exist_ok=True)
    assert tbl.run_names() == sorted(RUNS)


def test_event_file_scalars_match_the_keras_history(in_home):
    scalars = tbs.read_scalars()
    assert set(scalars["run"]) == set(RUNS)
    assert {"epoch_loss", "epoch_accuracy"} <= set(scalars.loc[scalars["split"] == "validation", "tag"])
    metrics = tbs.epoch_metrics(scalars)
    for run in RUNS:
        history = pd.read_csv(in_home / "logs" / run / "history.csv")
        ours = metrics[metrics["run"] == run].sort_values("epoch").reset_index(drop=True)
        assert list(ours["epoch"]) == list(history["epoch"]) == list(range(EPOCHS))
        for column in ["loss", "accuracy", "val_loss", "val_accuracy"]:
            np.testing.assert_allclose(ours[column], history[column], rtol=1e-6, err_msg=f"{run} {column}")


def test_hparams_are_read_back_from_the_hparams_summary(in_home):
    for run, hparams in RUNS.items():
        logged = tbs.read_hparams(in_home / "logs" / run)
        assert logged.keys() >= hparams.keys()
        for name, value in hparams.items():
            assert logged[name] == pytest.approx(value)


def test_ranking_orders_runs_by_lowest_validation_loss(in_home):
    table = tbl.rank_runs()
    assert list(table.index) == [1, 2]
    assert table["model_val_loss"].is_monotonic_increasing
    for _, row in table.iterrows():
        history = pd.read_csv(in_home / "logs" / row["run"] / "history.csv")
        assert row["min_val_loss"] == pytest.approx(history["val_loss"].min(), rel=1e-6)
        assert row["max_val_accuracy"] == pytest.approx(history["val_accuracy"].max(), rel=1e-6)
        assert row["best_epoch"] == int(history["val_loss"].idxmin())
        assert row["epochs"] == EPOCHS
        info = json.loads((in_home / "logs" / row["run"] / "run.json").read_text())
        assert row["model_val_loss"] == pytest.approx(info["best_val_loss"])
        assert row["model_val_accuracy"] == pytest.approx(info["best_val_accuracy"])
        assert row["params"] == info["params"] > 0
        assert row["train_seconds"] == pytest.approx(info["train_seconds"])


def test_best_run_is_recorded_for_the_submission_notebook(in_home):
    table = tbl.rank_runs()
    record = tbl.record_best_run(table)
    saved = json.loads(tbl.best_json_path().read_text())
    assert saved == record
    assert saved["run"] == table.iloc[0]["run"]
    assert saved["val_loss"] == pytest.approx(table["model_val_loss"].min())
    assert (in_home / saved["model_path"]).is_file()
    with pytest.raises(ValueError, match="train a model first"):
        tbl.record_best_run(table.iloc[0:0])


def test_comparison_figure_draws_one_curve_per_run(in_home):
    from utils.plots.comparison import plot_validation_curves

    scalars = tbs.read_scalars()
    fig = plot_validation_curves(scalars, runs=list(tbl.rank_runs()["run"]))
    loss_ax, acc_ax = fig.axes[:2]
    assert [line.get_label() for line in loss_ax.lines] == list(tbl.rank_runs()["run"])
    metrics = tbs.epoch_metrics(scalars)
    for line in loss_ax.lines:
        expected = metrics[metrics["run"] == line.get_label()].sort_values("epoch")["val_loss"]
        np.testing.assert_allclose(line.get_ydata(), expected)
    assert len(acc_ax.lines) == len(RUNS)


def test_archive_moves_a_run_without_overwriting(tmp_path, home, monkeypatch):
    import shutil

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    shutil.copytree(home / "logs" / "tiny_f4", tmp_path / "logs" / "tiny_f4")
    first = tbl.archive_run("tiny_f4")
    assert first == tmp_path / "logs" / "archive" / "tiny_f4" and (first / "run.json").is_file()
    assert tbl.run_names() == []
    shutil.copytree(home / "logs" / "tiny_f4", tmp_path / "logs" / "tiny_f4")
    second = tbl.archive_run("tiny_f4")
    assert second != first and first.is_dir() and second.is_dir()
    with pytest.raises(FileNotFoundError, match="No run 'tiny_f4'"):
        tbl.archive_run("tiny_f4")
    with pytest.raises(ValueError, match="not a run name"):
        tbl.archive_run("../models")


def test_delete_needs_explicit_confirmation(tmp_path, home, monkeypatch, capsys):
    import shutil

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    shutil.copytree(home / "logs" / "tiny_f8", tmp_path / "logs" / "tiny_f8")
    (tmp_path / "models").mkdir()
    shutil.copy(home / "models" / "tiny_f8.keras", tmp_path / "models")
    assert tbl.delete_run("tiny_f8", include_checkpoint=True) == []
    assert "Nothing deleted" in capsys.readouterr().out
    assert (tmp_path / "logs" / "tiny_f8").is_dir() and (tmp_path / "models" / "tiny_f8.keras").is_file()
    deleted = tbl.delete_run("tiny_f8", confirm=True, include_checkpoint=True)
    assert len(deleted) == 2
    assert not (tmp_path / "logs" / "tiny_f8").exists() and not (tmp_path / "models" / "tiny_f8.keras").exists()


def test_describe_runs_reports_what_is_on_disk(in_home):
    table = tbl.describe_runs()
    assert list(table["run"]) == sorted(RUNS)
    assert table["has_run_json"].all() and table["has_checkpoint"].all()
    folder = in_home / "logs" / sorted(RUNS)[0]
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert table.loc[0, "size_mb"] == round(size / 1e6, 2) and size > 0


# --- the TensorBoard server helper ---------------------------------------------------------


def test_headless_runs_start_no_server(monkeypatch, capsys):
    monkeypatch.setenv("CATSDOGS_HEADLESS", "1")
    before = len(tbs.list_tensorboards())
    assert tbs.start_tensorboard() is None
    assert "no TensorBoard server was started" in capsys.readouterr().out
    assert len(tbs.list_tensorboards()) == before


def test_binary_is_found_beside_python_when_not_on_path(monkeypatch, tmp_path):
    monkeypatch.delenv(tbs.BINARY_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # the venv's bin/ is not on PATH
    found = tbs.tensorboard_binary()
    assert found == str(Path(sys.executable).parent / "tensorboard")
    monkeypatch.setenv(tbs.BINARY_VARIABLE, "/opt/tb/bin/tensorboard")
    assert tbs.tensorboard_binary() == "/opt/tb/bin/tensorboard"


@pytest.mark.slow
def test_server_starts_serves_the_runs_and_stops(in_home, monkeypatch, capsys):
    import psutil

    monkeypatch.setenv("CATSDOGS_HEADLESS", "0")
    monkeypatch.delenv(tbs.BINARY_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # as in a kernel whose venv is not activated
    info = tbs.start_tensorboard(in_home / "logs", timeout=90)
    try:
        assert info is not None, capsys.readouterr().out
        assert os.environ[tbs.BINARY_VARIABLE] == str(Path(sys.executable).parent / "tensorboard")
        assert info.port in [i.port for i in tbs.list_tensorboards()]
        # TensorBoard loads the logs in the background: poll until it lists the runs' folders.
        deadline, runs = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://localhost:{info.port}/data/runs", timeout=30) as response:
                runs = json.load(response)
            if {"tiny_f4/train", "tiny_f8/validation"} <= set(runs):
                break
            time.sleep(1)
        assert {"tiny_f4/train", "tiny_f4/validation", "tiny_f8/train", "tiny_f8/validation"} <= set(runs), runs
    finally:
        stopped = tbs.stop_tensorboard()
    assert stopped == [info.port]
    assert not psutil.pid_exists(info.pid) or psutil.Process(info.pid).status() == psutil.STATUS_ZOMBIE
    assert info.port not in [i.port for i in tbs.list_tensorboards()]


def test_a_run_is_ranked_and_recorded_by_the_model_it_saved(tmp_path, home, monkeypatch):
    # A run that keeps its last epoch (restore_best=False, like `deeper`) saved weights whose
    # validation loss is above its best epoch's: the ranking and best.json must use the saved ones.
    import shutil

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    shutil.copytree(home / "logs", tmp_path / "logs")
    shutil.copytree(home / "models", tmp_path / "models")
    first, second = tbl.rank_runs()["run"]
    path = tmp_path / "logs" / first / "run.json"
    info = json.loads(path.read_text())
    worse = {"best_val_loss": info["best_val_loss"] + 5.0, "best_val_accuracy": 0.25}
    path.write_text(json.dumps({**info, **worse}))

    ranking = tbl.rank_runs()
    assert list(ranking["run"]) == [second, first]
    row = ranking.set_index("run").loc[first]
    assert row["model_val_loss"] == pytest.approx(worse["best_val_loss"])
    assert row["min_val_loss"] < row["model_val_loss"]  # the event files still show the best epoch
    path.write_text(json.dumps({**info, "best_val_loss": 1e-3, "best_val_accuracy": 0.999}))
    record = tbl.record_best_run(tbl.rank_runs())
    assert (record["run"], record["val_loss"], record["val_accuracy"]) == (first, 1e-3, 0.999)


def test_runs_of_other_profiles_and_lost_checkpoints_are_left_out(tmp_path, home, monkeypatch):
    import shutil

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    shutil.copytree(home / "logs", tmp_path / "logs")
    shutil.copytree(home / "models", tmp_path / "models")
    for run, profile in [("tiny_f4", "smoke"), ("tiny_f8", "default")]:
        path = tmp_path / "logs" / run / "run.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "profile": profile}))
    assert tbl.run_names(profile="smoke") == ["tiny_f4"]
    assert list(tbl.rank_runs(profile="default")["run"]) == ["tiny_f8"]
    assert tbl.rank_runs(profile="full").empty

    ranking = tbl.rank_runs()
    first, second = ranking["run"]
    (tmp_path / "models" / f"{first}.keras").unlink()  # the best run's checkpoint was deleted
    assert tbl.record_best_run(ranking)["run"] == second
    (tmp_path / "models" / f"{second}.keras").unlink()
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        tbl.record_best_run(ranking)
