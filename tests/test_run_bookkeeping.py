"""Run bookkeeping (utils.fit.start_run / Run): unique names, safe names, unfinished runs."""
from __future__ import annotations

import json
import threading

import keras
import numpy as np
import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    return tmp_path


def test_runs_started_in_the_same_second_get_different_folders(home):
    from utils.fit import start_run

    names = []
    errors = []

    def start():
        try:
            names.append(start_run("baseline", {"variant": "baseline"}, "smoke").name)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(names)) == 6, names
    assert all((home / "logs" / name / "started.json").is_file() for name in names)


@pytest.mark.parametrize("bad", ["../../x", "a/b", ".hidden", "", "x" * 200, "name with space", "..", "a\\b"])
def test_a_run_name_that_is_not_a_plain_folder_name_is_refused(home, bad):
    from utils.fit import start_run

    with pytest.raises(ValueError, match="not a usable run name"):
        start_run("baseline", {}, "smoke", run_name=bad)
    assert not (home / "x").exists() and not (home.parent / "x").exists()


def test_a_taken_run_name_is_refused_and_nothing_is_overwritten(home):
    from utils.fit import start_run

    first = start_run("baseline", {}, "smoke", run_name="mine")
    (first.log_dir / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        start_run("baseline", {}, "smoke", run_name="mine")
    assert (first.log_dir / "keep.txt").read_text() == "mine"


def test_a_run_is_unfinished_until_finish_writes_run_json(home):
    from utils.models.registry import build_model
    from utils.runs import list_runs
    from utils.fit import start_run

    run = start_run("baseline", {"variant": "baseline"}, "smoke", run_name="interrupted")
    assert list_runs().empty
    table = list_runs(include_unfinished=True)
    assert table["run"].tolist() == ["interrupted"] and not table["finished"].iloc[0]

    model = build_model("baseline")
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((np.zeros((4, 50, 50, 1), "float32"), np.array([0, 1, 0, 1]))).batch(2)
    fit = model.fit(data, validation_data=data, epochs=1, verbose=0, callbacks=run.callbacks(),
                    shuffle=False)  # the dataset is the order; Keras would only warn
    result = run.finish(model, fit, data, train_seconds=596.96)
    table = list_runs(include_unfinished=True)
    assert table["finished"].tolist() == [True]
    summary = json.loads((run.log_dir / "run.json").read_text())
    assert summary["run"] == "interrupted" and summary["model_path"] == "models/interrupted.keras"
    assert result.model_path.is_file() and (run.log_dir / "history.csv").is_file()
    # One time for the record and the result, rounded alike: a sentence printed from the result
    # (notebook 04's compare) and the results table beside it show the same minutes.
    from utils.plots.training import results_table

    assert summary["train_seconds"] == result.train_seconds == 597.0
    shown = results_table(list_runs())["train min"].iloc[0]
    assert f"{result.train_seconds / 60:.1f}" == str(shown) == "9.9"


def test_callback_settings_tell_two_callback_lists_apart(home):
    from utils.fit import callback_settings, start_run

    run = start_run("baseline", {}, "smoke")
    written_out = [
        keras.callbacks.TensorBoard(log_dir=str(run.log_dir)),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(run.model_path), monitor="val_loss", save_best_only=True),
        keras.callbacks.CSVLogger(str(run.history_path)),
    ]
    assert callback_settings(written_out) == callback_settings(run.callbacks(patience=5, restore_best=True))
    assert callback_settings(written_out) != callback_settings(run.callbacks(patience=3, restore_best=True))
    assert callback_settings(written_out) != callback_settings(run.callbacks(patience=5, restore_best=False))


def test_a_run_started_without_a_profile_records_the_current_one(home, monkeypatch):
    from utils.fit import start_run

    monkeypatch.setenv("CATSDOGS_PROFILE", "smoke")
    run = start_run("baseline", {})
    assert run.profile == "smoke"
    assert json.loads((run.log_dir / "started.json").read_text())["profile"] == "smoke"
