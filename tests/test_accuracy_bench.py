"""bench/accuracy.py: the time budget, the evaluation set kept out of training, its table and its messages."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "accuracy.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_accuracy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(*args, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CATSDOGS_HOME": str(home), "CATSDOGS_HEADLESS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=900)


def test_the_time_budget_stops_before_an_epoch_it_would_overrun():
    bench = _bench()
    now = [0.0]  # a clock the epochs move by exactly 0.25 s each: no real timing, no flakiness

    class QuarterSecondEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            now[0] += 0.25

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    budget = bench.time_budget(1.0, clock=lambda: now[0])
    # The clock callback first: its time is part of the epoch the budget measures.
    history = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=50, verbose=0,
                        callbacks=[QuarterSecondEpochs(), budget])
    # After 4 epochs (1.0 s) a fifth would end at 1.25 s, past the budget: it is never started.
    assert budget.stopped and len(history.history["loss"]) == 4 and now[0] <= 1.0
    unlimited = bench.time_budget(100.0, clock=lambda: now[0])
    history = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=6, verbose=0,
                        callbacks=[QuarterSecondEpochs(), unlimited])
    assert not unlimited.stopped and len(history.history["loss"]) == 6
    # one budget across a run trained in two calls of fit (progressive resizing): the clock does not restart
    now[0] = 0.0
    across = bench.time_budget(1.0, clock=lambda: now[0])
    first = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=2, verbose=0, callbacks=[QuarterSecondEpochs(), across])
    second = model.fit(np.zeros((8, 2)), np.zeros(8), initial_epoch=2, epochs=50, verbose=0,
                       callbacks=[QuarterSecondEpochs(), across])
    assert across.stopped and len(first.history["loss"]) + len(second.history["loss"]) == 4


def test_the_reference_is_the_median_baseline_time_so_one_slow_run_does_not_move_the_budget():
    bench = _bench()
    assert bench.reference_seconds([60.0]) == 60.0
    assert bench.reference_seconds([61.0, 140.0, 59.0]) == 61.0  # one run slowed by another job
    assert bench.reference_seconds([50.0, 70.0]) == 60.0


def test_an_evaluation_image_among_the_training_data_is_refused(manifest, tmp_path):
    bench = _bench()
    train = [Path(p) for p in manifest.loc[manifest["split"] == "train", "filepath"]]
    others = [tmp_path / "cat.999999.jpg"]
    others[0].write_bytes(b"not the same bytes")
    bench.check_disjoint(train, bench.EvalSet(others, [0]))  # disjoint: passes
    with pytest.raises(bench.BenchError, match="1 evaluation image"):
        bench.check_disjoint(train, bench.EvalSet([train[0]], [bench.kaggle_id(train[0])[0]]))
    copy = tmp_path / "dog.999998.jpg"  # another name, the same picture
    copy.write_bytes(train[1].read_bytes())
    with pytest.raises(bench.BenchError, match="same content"):
        bench.check_disjoint(train, bench.EvalSet([copy], [1]))


def test_an_archives_labelled_files_are_its_kaggle_named_images_in_id_order(tmp_path):
    bench = _bench()
    for name in ["b/dog.10.jpg", "a/cat.9.jpg", "a/dog.2.JPG", "a/cat.10.jpeg", "a/12.jpg", "a/notes.txt",
                 "a/cat.x.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "a" / "cat.3.jpg").mkdir()  # a folder with an image's name is not an image
    # Cats before dogs, then by number (9 before 10, not as text); test images and other names are not labelled.
    assert [p.name for p in bench.labelled_files(tmp_path)] == ["cat.9.jpg", "cat.10.jpeg", "dog.2.JPG", "dog.10.jpg"]
    assert bench.kaggle_id_or_none(tmp_path / "a" / "12.jpg") is None


def test_added_training_images_skip_the_photographs_the_data_holds_and_leave_validation_alone(shared_data, manifest,
                                                                                               tmp_path):
    bench = _bench()
    held = next(Path(p) for p in manifest.loc[manifest["split"] == "train", "filepath"] if bench.kaggle_id(p)[1] < 1000)
    kind = ("cat", "dog")[bench.kaggle_id(held)[0]]
    filtered = shared_data / "cats-and-dogs-filtered" / "cats_and_dogs_filtered.zip"
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(filtered) as source, zipfile.ZipFile(archive, "w") as zf:
        for name in [f"cats_and_dogs_filtered/train/{kind}s/{held.name}",  # the same photograph, at full size
                     "cats_and_dogs_filtered/validation/cats/cat.2000.jpg",
                     "cats_and_dogs_filtered/validation/dogs/dog.2001.jpg"]:
            zf.writestr(name, source.read(name))
    frame, said = bench.add_training(manifest, [archive], tmp_path / "private")
    added = frame.iloc[len(manifest):]
    assert sorted(Path(p).name for p in added["filepath"]) == ["cat.2000.jpg", "dog.2001.jpg"]
    assert set(added["split"]) == {"train"} and added["label"].tolist() == [0, 1]
    kept = ["filepath", "label", "split"]
    assert frame.iloc[:len(manifest)][kept].equals(manifest[kept])  # validation (and everything else) as it was
    assert said == ["more.zip: 2 of its 3 labelled images added to the training split; 1 skipped, their Kaggle ids "
                    "already in the data (the same photographs)."]


def test_the_temperature_is_chosen_on_the_validation_split_and_nowhere_else(manifest):
    import pandas as pd

    from utils.predict import predict_files
    from utils.submission.temperature import best_temperature

    bench = _bench()
    validation = manifest[manifest["split"] == "validation"].groupby("label").head(12)
    assert set(validation["label"]) == {0, 1}
    # Training rows that cannot be read: a temperature that looked at them would fail.
    unreadable = manifest[manifest["split"] == "train"].head(4).assign(filepath="/no/such/folder/cat.1.jpg")
    frame = pd.concat([unreadable, validation], ignore_index=True)
    keras.utils.set_random_seed(0)
    # An over-sure network: logits 40 times what its features give, so the right temperature is > 1.
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2),
                              keras.layers.Rescaling(40.0), keras.layers.Softmax()])
    temperature = bench.validation_temperature(model, frame)
    direct = predict_files(model, validation["filepath"], tta=True, show_progress=False)
    assert temperature == best_temperature(validation["label"].astype(int).tolist(), direct.probabilities)
    assert temperature > 1.0
    broken = frame.copy()
    broken.loc[len(unreadable), "filepath"] = "/no/such/folder/dog.2.jpg"  # now one validation image is missing
    with pytest.raises(bench.BenchError, match="1 validation image"):
        bench.validation_temperature(model, broken)
    print(f"T = {temperature:.2f}, chosen on {len(validation)} validation images only")


@pytest.mark.slow
def test_quick_run_prints_the_table_and_never_trains_on_the_evaluation_set(shared_data, manifest, tmp_path):
    eval_zip = shared_data / "dogs-vs-cats-eval" / "eval.zip"
    if not eval_zip.is_file():
        pytest.skip("../shared/data/dogs-vs-cats-eval/eval.zip is not beside this project")
    bench = _bench()
    # The data a run trains and validates on, and the evaluation images: no Kaggle id in common.
    with zipfile.ZipFile(eval_zip) as zf:
        eval_ids = {bench.kaggle_id(n) for n in zf.namelist() if n.endswith(".jpg")}
    training_ids = {bench.kaggle_id(p) for p in manifest.loc[manifest["split"].isin(["train", "validation"]), "filepath"]}
    assert len(eval_ids) == 4000 and training_ids and not training_ids & eval_ids

    home = tmp_path / "home"
    result = _run("--quick", "tf_tutorial", home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| variant"))
    assert [c.strip() for c in header.strip("|").split("|")] == bench.COLUMNS
    rows = [line for line in lines[lines.index(header) + 2:] if line.startswith("|")]
    assert [r.split("|")[1].strip() for r in rows] == ["`baseline`", "`tf_tutorial`"]
    assert rows[0].rstrip(" |").endswith("1.0")  # the baseline is the time reference
    for row in rows:  # a temperature from the grid, and the log loss with it
        cells = dict(zip(bench.COLUMNS, (c.strip() for c in row.strip().strip("|").split("|"))))
        assert 0.5 <= float(cells["T (val)"]) <= 3.0 and 0 < float(cells["eval log loss at T"]) < 4
    assert "Machine:" in result.stdout and "Evaluation set: 40 images" in result.stdout
    # --quick trains the baseline twice; the reference is the median of the two training times.
    reference = next(line for line in lines if line.startswith("Reference:"))
    assert "median of 2 run(s)" in reference and reference.count(" s") == 2
    # Trained on the smoke manifest of the shared sample; no evaluation image was written to the home.
    assert not [p for p in home.rglob("*") if p.is_file() and bench.kaggle_id_or_none(p) in eval_ids]


@pytest.mark.parametrize("args, message", [
    (["no_such_variant"], "unknown variant 'no_such_variant'"),
    (["--eval", "missing/eval.zip", "baseline"], "No evaluation set at"),
    (["--budget-multiple", "0", "baseline"], "--budget-multiple must be positive"),
    (["--baseline-runs", "0", "baseline"], "--baseline-runs must be at least 1"),
    (["--add-training", "missing.zip", "baseline"], "--add-training missing.zip: no such file"),
])
def test_bad_inputs_get_one_clear_message(args, message, tmp_path):
    result = _run("--quick", *args, home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
