"""Training, logging and evaluation helpers (utils.fit, utils.evaluate, utils.cli.train, utils.plots.training)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from utils import evaluate
from utils.plots.training import overfitting_epoch

ROOT = Path(__file__).resolve().parent.parent
RUN_JSON_KEYS = {"run", "variant", "hparams", "params", "flops", "epochs_run", "train_seconds", "best_val_loss",
                 "best_val_accuracy", "model_path", "image_size", "color_mode", "profile", "created"}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty project home, so runs land in tmp_path/logs and tmp_path/models."""
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    return tmp_path


def _env(home: Path, **extra) -> dict:
    env = {**os.environ, "CATSDOGS_HOME": str(home), "CATSDOGS_PROFILE": "smoke", "CATSDOGS_HEADLESS": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.update(extra)
    return env


# --- pure functions ---------------------------------------------------------------------------

def test_log_loss_and_accuracy_match_hand_computation():
    labels = np.array([1, 0, 1, 0])
    p_dog = np.array([0.9, 0.2, 0.4, 0.6])
    expected = -np.mean([np.log(0.9), np.log(0.8), np.log(0.4), np.log(0.4)])
    assert evaluate.log_loss(labels, p_dog) == pytest.approx(expected)
    assert evaluate.accuracy(labels, p_dog) == 0.5
    # Kaggle clips, so a sure wrong answer costs a lot but not infinity.
    assert np.isfinite(evaluate.log_loss([1], [0.0])) and evaluate.log_loss([1], [0.0]) > 30


def test_confusion_matrix_and_most_confidently_wrong():
    frame = pd.DataFrame({"label": [0, 0, 1, 1, 1], "filepath": list("abcde")})
    scored = evaluate.with_predictions(frame, [0.1, 0.7, 0.95, 0.35, 0.01])
    confusion = evaluate.confusion_matrix(scored["label"], scored["p_dog"])
    assert confusion.to_numpy().tolist() == [[1, 1], [2, 1]]
    wrong = evaluate.most_confidently_wrong(scored, n=2)
    assert list(wrong["filepath"]) == ["e", "b"]  # P(dog)=0.01 for a dog is the surest mistake
    assert wrong["p_wrong"].tolist() == pytest.approx([0.99, 0.7])


def test_overfitting_is_found_only_when_validation_loss_stays_up_beyond_its_noise():
    from utils.plots.training import describe_fit

    sustained = pd.DataFrame({"loss": [0.7, 0.5, 0.4, 0.3, 0.25, 0.2],
                              "val_loss": [0.70, 0.55, 0.54, 0.62, 0.66, 0.71]})
    assert overfitting_epoch(sustained) == 3
    assert "overfits from epoch 3" in describe_fit(sustained)
    falling = pd.DataFrame({"loss": [0.7, 0.5, 0.3], "val_loss": [0.7, 0.6, 0.5]})
    assert overfitting_epoch(falling) is None
    assert "still at its lowest" in describe_fit(falling)
    # one bad epoch after the minimum, then back down: not overfitting
    spike = pd.DataFrame({"loss": [0.7, 0.5, 0.4, 0.3, 0.25, 0.2],
                          "val_loss": [0.70, 0.55, 0.50, 0.80, 0.52, 0.51]})
    assert overfitting_epoch(spike) is None
    # a rise smaller than the curve's own epoch-to-epoch wobble: not overfitting
    wobbly = pd.DataFrame({"loss": [0.7, 0.6, 0.5, 0.4, 0.35, 0.3, 0.25],
                           "val_loss": [0.70, 0.60, 0.68, 0.58, 0.60, 0.605, 0.61]})
    assert overfitting_epoch(wobbly) is None
    assert "shades nothing" in describe_fit(wobbly) and "within its epoch-to-epoch wobble" in describe_fit(wobbly)
    # too few epochs after the minimum to call it
    short = pd.DataFrame({"loss": [0.7, 0.5, 0.3, 0.2], "val_loss": [0.7, 0.55, 0.6, 0.7]})
    assert overfitting_epoch(short) is None
    assert "more than its epoch-to-epoch wobble (0.100)" in describe_fit(short)
    assert "shades nothing" in describe_fit(short)


def test_learning_rate_schedules_rise_peak_and_decay_where_documented():
    from utils.models.registry import get_variant
    from utils.fit import learning_rate_schedule

    constant = get_variant("baseline")
    assert learning_rate_schedule(constant, steps_per_epoch=10, epochs=5) == constant.learning_rate

    plain = get_variant("batchnorm_gap", learning_rate=1e-3, warmup_epochs=0)
    schedule = learning_rate_schedule(plain, steps_per_epoch=10, epochs=5)
    rates = [float(schedule(step)) for step in (0, 25, 50)]
    assert rates == pytest.approx([1e-3, 5e-4, 0.0], abs=1e-9)  # half a cosine: start, middle, end

    warm = get_variant("batchnorm_gap", learning_rate=2e-3, warmup_epochs=2)
    schedule = learning_rate_schedule(warm, steps_per_epoch=10, epochs=6)
    rates = [float(schedule(step)) for step in (0, 10, 20, 40, 60)]
    # 0 -> halfway up after one epoch -> the peak after two -> cosine down to 0 at the last step
    assert rates == pytest.approx([0.0, 1e-3, 2e-3, 1e-3, 0.0], abs=1e-9)

    with pytest.raises(ValueError, match="lr_schedule"):
        learning_rate_schedule(get_variant("baseline", lr_schedule="step"), steps_per_epoch=10, epochs=5)


def test_the_learning_rate_figure_draws_the_schedule_train_variant_uses():
    import matplotlib

    matplotlib.use("Agg")
    from utils.models.registry import get_variant
    from utils.plots.training import plot_learning_rate

    variant = get_variant("batchnorm_gap", learning_rate=2e-3, warmup_epochs=1, epochs=4)
    fig = plot_learning_rate(variant, steps_per_epoch=10)
    x, y = fig.axes[0].lines[0].get_data()
    assert len(x) == 40 and x[-1] == pytest.approx(3.9)
    assert y[0] == 0.0 and y[10] == pytest.approx(2e-3) and y.max() == pytest.approx(2e-3) and y[-1] < 1e-4


def test_run_names_are_readable_and_never_reused(home):
    from utils.runs import run_name_for

    first = run_name_for("baseline")
    assert re.fullmatch(r"baseline-\d{8}-\d{6}", first)
    (home / "logs" / first).mkdir(parents=True)
    second = run_name_for("baseline")
    assert second != first and second.startswith(first[:len("baseline-") + 8])


def test_list_runs_of_an_empty_folder_is_an_empty_table(home):
    from utils.runs import RUN_COLUMNS, list_runs

    table = list_runs()
    assert len(table) == 0 and list(table.columns) == RUN_COLUMNS


# --- training on real images ----------------------------------------------------------------

@pytest.mark.slow
def test_train_variant_logs_everything_and_the_checkpoint_reloads(home, manifest):
    from utils.data.pipeline import make_dataset
    from utils.fit import fit_and_log, train_variant
    from utils.runs import list_runs

    result = train_variant("baseline", frame=manifest, profile="smoke")
    assert re.fullmatch(r"baseline-\d{8}-\d{6}(-\d+)?", result.run_name)
    log_dir = home / "logs" / result.run_name
    assert result.log_dir == log_dir and result.model_path == home / "models" / f"{result.run_name}.keras"
    assert result.model_path.is_file()
    assert list((log_dir / "train").glob("events.out.tfevents.*"))
    assert list((log_dir / "validation").glob("events.out.tfevents.*"))
    assert list(log_dir.glob("events.out.tfevents.*")), "HParams summary missing"
    history = pd.read_csv(log_dir / "history.csv")
    assert list(history["epoch"]) == [0] and np.isfinite(history["loss"]).all()
    summary = json.loads((log_dir / "run.json").read_text())
    assert RUN_JSON_KEYS <= set(summary)
    assert summary["model_path"] == f"models/{result.run_name}.keras"
    assert summary["image_size"] == [50, 50] and summary["color_mode"] == "grayscale"
    assert summary["params"] == 388_098 and summary["epochs_run"] == 1 and summary["profile"] == "smoke"
    assert summary["best_val_accuracy"] == pytest.approx(result.val_accuracy)
    assert 0 <= result.val_accuracy <= 1 and np.isfinite(result.val_loss)
    assert list(result.history.columns) == ["accuracy", "loss", "val_accuracy", "val_loss"]

    images = next(iter(make_dataset(manifest, "validation", image_size=(50, 50), color_mode="grayscale",
                                    batch_size=16)))[0]
    reloaded = keras.models.load_model(result.model_path)
    np.testing.assert_array_equal(reloaded.predict(images, verbose=0), result.model.predict(images, verbose=0))

    runs = list_runs()
    assert list(runs["run"]) == [result.run_name] and runs.loc[0, "variant"] == "baseline"

    # Reusing a finished run's name is refused: nothing is overwritten.
    with pytest.raises(FileExistsError, match="already exists"):
        fit_and_log(result.model, None, None, run_name=result.run_name, hparams={}, epochs=1)


@pytest.mark.parametrize("restore_best", [True, False])
def test_a_run_ends_on_the_best_or_the_last_epoch_as_asked(home, manifest, restore_best):
    from utils.data.pipeline import make_dataset
    from utils.fit import fit_and_log

    keras.utils.set_random_seed(0)
    data = dict(image_size=(32, 32), batch_size=32, cache="memory")
    train_ds, val_ds = make_dataset(manifest, "train", **data), make_dataset(manifest, "validation", **data)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    # a huge step in the last epoch makes it (almost surely) the worst one, so the two choices differ
    wreck_last = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 50.0 if epoch == 3 else 1e-2)
    result = fit_and_log(model, train_ds, val_ds, run_name=f"ends-{restore_best}", hparams={}, epochs=4,
                         callbacks=[wreck_last], patience=10, restore_best=restore_best)
    val_loss = result.history["val_loss"]
    assert val_loss.iloc[-1] > val_loss.min()
    expected = val_loss.min() if restore_best else val_loss.iloc[-1]
    assert result.val_loss == pytest.approx(expected, rel=1e-4)
    images = next(iter(val_ds))[0]
    reloaded = keras.models.load_model(result.model_path)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), result.model.predict(images, verbose=0), atol=1e-6)


@pytest.mark.slow
def test_same_seed_gives_the_same_history(home, manifest):
    from utils.fit import train_variant

    first = train_variant("baseline", frame=manifest, profile="smoke")
    second = train_variant("baseline", frame=manifest, profile="smoke")
    assert first.run_name != second.run_name
    pd.testing.assert_frame_equal(first.history, second.history)


DISTRIBUTED = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from utils.fit import train_variant
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
result = train_variant("baseline", profile="smoke", strategy=strategy)
print("replicas", strategy.num_replicas_in_sync, "loss", result.val_loss, "run", result.run_name)
"""


@pytest.mark.slow
def test_the_distributed_path_trains_on_two_logical_devices(tmp_path, manifest):
    from utils import config

    (tmp_path / "data").symlink_to(config.data_dir(), target_is_directory=True)
    done = subprocess.run([sys.executable, "-c", DISTRIBUTED], cwd=ROOT, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"replicas 2 loss (\S+) run (\S+)", done.stdout)
    assert found, done.stdout[-2000:]
    assert np.isfinite(float(found.group(1)))
    assert (tmp_path / "models" / f"{found.group(2)}.keras").is_file()


def _cli(home: Path, *args, **env):
    return subprocess.run([sys.executable, "-m", "utils.train", *args], cwd=ROOT, env=_env(home, **env),
                          capture_output=True, text=True, timeout=600)


def test_cli_rejects_an_unknown_variant(tmp_path):
    done = _cli(tmp_path, "--variant", "resnet9000")
    assert done.returncode == 2
    assert "unknown variant 'resnet9000'" in done.stderr and "baseline" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_rejects_a_missing_dataset(tmp_path):
    done = _cli(tmp_path, "--variant", "baseline", CATSDOGS_DATA=str(tmp_path / "nowhere"))
    assert done.returncode == 1
    assert "no dataset to train on" in done.stderr and "notebook 01" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "models").exists()


@pytest.mark.slow
def test_cli_trains_and_refuses_to_overwrite_a_run(tmp_path, manifest):
    # Reuse the session's smoke dataset through a symbolic link instead of extracting it again.
    from utils import config

    (tmp_path / "data").symlink_to(config.data_dir(), target_is_directory=True)
    done = _cli(tmp_path, "--variant", "baseline", "--run-name", "cli-run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Run cli-run: validation accuracy" in done.stdout
    assert (tmp_path / "logs" / "cli-run" / "run.json").is_file()
    again = _cli(tmp_path, "--variant", "baseline", "--run-name", "cli-run")
    assert again.returncode == 2 and "already exists" in again.stderr
