"""The run record (utils.runs), the one P(dog) path (utils.predict, utils.evaluate) and the cache keys.

* ``RunRecord``: a run.json written and read back is the same record; keys it does not know are
  kept, keys a file lacks stay absent; ``load_run`` returns what the record and history say.
* ``evaluate_split`` and ``predict_dataset``: every P(dog) belongs to its own row (predicted one
  image at a time, the answers must match row by row), with and without test-time augmentation.
* The feature cache (notebook 05) and the image-check cache (notebook 01) are keyed so that a
  changed input is never served a stale result.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import nbformat
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


# --- the run record ----------------------------------------------------------------------------

def record_of(run: str = "tiny-1", **changes):
    from utils.runs import RunRecord

    fields = dict(run=run, variant="tiny", hparams={"batch_size": 8, "image_size": "32x32"}, params=123, flops=4567,
                  epochs_run=3, train_seconds=1.5, best_val_loss=0.61, best_val_accuracy=0.7,
                  model_path=f"models/{run}.keras", image_size=[32, 32], color_mode="rgb", profile="smoke",
                  created="2026-01-01T00:00:00+00:00")
    return RunRecord(**{**fields, **changes})


def test_run_record_round_trip(tmp_path):
    from utils.runs import RunRecord

    record = record_of()
    record.write(tmp_path)
    written = json.loads((tmp_path / "run.json").read_text())
    assert written == record.to_dict()
    assert list(written) == ["run", "variant", "hparams", "params", "flops", "epochs_run", "train_seconds",
                             "best_val_loss", "best_val_accuracy", "model_path", "image_size", "color_mode",
                             "profile", "created"]
    again = RunRecord.read(tmp_path)
    assert again.to_dict() == written
    assert (again.run, again.best_val_loss, again.image_size) == ("tiny-1", 0.61, [32, 32])


def test_run_record_keeps_unknown_keys_and_leaves_absent_ones_out(tmp_path):
    from utils.runs import RunRecord, read_run_info

    (tmp_path / "run.json").write_text(json.dumps({"variant": "old", "best_val_loss": 0.5, "note": "by hand"}))
    record = RunRecord.read(tmp_path)
    assert record.run == tmp_path.name  # the folder names the run when the file does not
    assert record.extra == {"note": "by hand"}
    record.params = 10
    record.write(tmp_path)
    assert json.loads((tmp_path / "run.json").read_text()) == {
        "run": tmp_path.name, "variant": "old", "params": 10, "best_val_loss": 0.5, "note": "by hand"}
    (tmp_path / "run.json").write_text("{ damaged")
    assert RunRecord.read(tmp_path) is None and read_run_info(tmp_path) == {}


def test_load_run_reads_the_record_and_history(tmp_path, monkeypatch):
    from utils.runs import checkpoint_path, load_run

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    log_dir = tmp_path / "logs" / "tiny-1"
    log_dir.mkdir(parents=True)
    record_of(best_val_loss=0.42, best_val_accuracy=0.81, train_seconds=9.0).write(log_dir)
    pd.DataFrame({"epoch": [0, 1], "loss": [0.9, 0.7], "val_loss": [0.8, 0.42]}).to_csv(log_dir / "history.csv",
                                                                                      index=False)
    result = load_run("tiny-1", with_model=False)
    assert (result.run_name, result.val_loss, result.val_accuracy, result.train_seconds) == ("tiny-1", 0.42, 0.81, 9.0)
    assert result.model_path == tmp_path / "models" / "tiny-1.keras" == checkpoint_path("tiny-1")
    assert list(result.history.columns) == ["loss", "val_loss"] and list(result.history.index) == [1, 2]
    assert result.summary["best_val_loss"] == 0.42
    with pytest.raises(FileNotFoundError, match="list_runs"):
        load_run("no-such-run", with_model=False)


def test_best_run_record_is_read_back(tmp_path, monkeypatch):
    from utils.runs import best_json_path, read_best_run

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    assert read_best_run("smoke") is None
    path = best_json_path("smoke")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"run": "a", "model_path": "models/a.keras", "val_loss": 0.3}))
    assert read_best_run("smoke")["val_loss"] == 0.3
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="unreadable"):
        read_best_run("smoke")


# --- one P(dog) path ---------------------------------------------------------------------------

def brightness_model(channels: int = 3, size: int = 32) -> keras.Model:
    """P(dog) grows with the image's mean brightness: a different answer for almost every image."""
    inputs = keras.Input((size, size, channels))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    output = keras.layers.Dense(1, activation="sigmoid")(pooled)
    model = keras.Model(inputs, output)
    model.layers[-1].set_weights([np.full((channels, 1), 0.03, "float32"), np.array([-2.0], "float32")])
    return model


def one_by_one(model, filepaths, size=(32, 32), color_mode="rgb", flip=False):
    from utils.data.pipeline import decode_and_resize

    out = []
    for path in filepaths:
        image = decode_and_resize(str(path), size, color_mode).numpy()
        if flip:
            image = image[:, ::-1]
        out.append(float(model(image[None], training=False).numpy()[0, 0]))
    return np.array(out)


def test_evaluate_split_keeps_every_prediction_on_its_row(manifest):
    from utils.evaluate import evaluate_split

    model = brightness_model()
    result = evaluate_split(model, manifest, "validation", batch_size=7)  # batches that do not divide the split
    rows = manifest[manifest["split"] == "validation"]
    assert list(result.frame["path"]) == list(rows["path"])
    expected = one_by_one(model, rows["filepath"])
    assert np.ptp(expected) > 1e-3  # the check below could not see a shuffled order otherwise
    np.testing.assert_allclose(result.frame["p_dog"], expected, atol=1e-5)
    assert list(result.frame["predicted"]) == list((expected > 0.5).astype(int))


@pytest.mark.parametrize("tta", [False, True])
def test_predict_dataset_returns_targets_and_p_dog_in_order(manifest, tta):
    from utils.data.pipeline import decode_and_resize
    from utils.predict import predict_dataset
    import tensorflow as tf

    model = brightness_model()
    rows = manifest[manifest["split"] == "validation"].head(20)
    ids = np.arange(100, 100 + len(rows))
    ds = tf.data.Dataset.from_tensor_slices((rows["filepath"].tolist(), ids))
    ds = ds.map(lambda p, i: (decode_and_resize(p, (32, 32), "rgb"), i)).batch(6)
    targets, p_dog = predict_dataset(model, ds, tta=tta)
    assert list(targets) == list(ids)
    expected = one_by_one(model, rows["filepath"])
    if tta:
        expected = (expected + one_by_one(model, rows["filepath"], flip=True)) / 2
    np.testing.assert_allclose(p_dog, expected, atol=1e-5)


def test_dog_probability_reads_logits_too():
    from utils.predict import dog_probability

    # small pixel values keep the logits near 0, where the sigmoid is not 0 or 1 in float32
    images = np.random.default_rng(0).uniform(0, 4, (5, 8, 8, 3)).astype("float32")
    logits = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(1, activation=None)])
    raw = logits.predict(images, verbose=0)[:, 0]
    np.testing.assert_allclose(dog_probability(logits, images), 1 / (1 + np.exp(-raw)), rtol=1e-5)


# --- cache keys --------------------------------------------------------------------------------

def test_feature_cache_name_changes_with_every_input():
    from utils.models.transfer import feature_cache_name

    paths = ["train/cat.1.jpg", "train/dog.2.jpg"]
    name = feature_cache_name("MobileNetV2", (160, 160), "imagenet", "train", paths)
    assert name == feature_cache_name("MobileNetV2", (160, 160), "imagenet", "train", list(paths))
    assert name.startswith("mobilenetv2-160-imagenet-train-plain-") and name.endswith(".npz")
    others = [
        feature_cache_name("ResNet50", (160, 160), "imagenet", "train", paths),
        feature_cache_name("MobileNetV2", (96, 96), "imagenet", "train", paths),
        feature_cache_name("MobileNetV2", (160, 160), "random", "train", paths),
        feature_cache_name("MobileNetV2", (160, 160), "imagenet", "validation", paths),
        feature_cache_name("MobileNetV2", (160, 160), "imagenet", "train", paths[::-1]),
        feature_cache_name("MobileNetV2", (160, 160), "imagenet", "train", paths[:1]),
        feature_cache_name("MobileNetV2", (160, 160), "imagenet", "train", paths, copies=2),
        feature_cache_name("MobileNetV2", (160, 160), "imagenet", "train", paths, copies=3),
    ]
    assert len({name, *others}) == 1 + len(others)


def test_image_checks_are_cached_by_path_size_and_time(tmp_path, monkeypatch, manifest):
    import shutil

    from utils.data import dataset

    source = manifest["filepath"].head(3)
    files = []
    for i, path in enumerate(source):
        files.append(tmp_path / f"img{i}.jpg")
        shutil.copy(path, files[-1])
    checked = []
    real = dataset.inspect_images
    monkeypatch.setattr(dataset, "inspect_images", lambda todo, **kw: checked.append(sorted(map(str, todo))) or real(todo, **kw))
    first = dataset._checks_with_cache(files, tmp_path)
    assert checked == [sorted(map(str, files))] and all(c.ok for c in first)
    assert dataset._checks_with_cache(files, tmp_path) == first and len(checked) == 1  # nothing checked again
    stat = files[0].stat()
    os.utime(files[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: checked again
    files[1].write_bytes(b"not a jpeg")  # replaced: checked again, and now bad
    again = dataset._checks_with_cache(files, tmp_path)
    assert checked[-1] == sorted(map(str, files[:2]))
    assert [c.ok for c in again] == [True, False, True]


# --- scripts/normalise_notebook.py -------------------------------------------------------------

def test_normalise_notebook_cleans_what_changes_between_runs(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "odd", "display_name": "Odd"}, "widgets": {}})
    code = nbformat.v4.new_code_cell("print(1)", execution_count=7,
                                     metadata={"tags": ["keep"], "execution": {"iopub.status.busy": "x"}})
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="10%\r50%\r100%\ndone\n"),
        nbformat.v4.new_output("stream", name="stdout", text="more\n"),
        nbformat.v4.new_output("stream", name="stderr",
                               text="I0000 00:00:1.2   123 cpu_feature_guard.cc:210] noise\nreal warning\n"),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "1"},
                                                     "text/plain": "bar"}),
    ]
    empty = nbformat.v4.new_code_cell("x = 1", execution_count=9)
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), code, empty]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "normalise_notebook.py"), str(path)], check=True,
                   capture_output=True)
    out = nbformat.read(path, as_version=4)
    assert out.metadata == {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                            "language_info": {"name": "python"}}
    cell = out.cells[1]
    assert cell.metadata == {"tags": ["keep"]} and cell.execution_count == 1
    assert cell.outputs[0]["text"] == "100%\ndone\nmore\n"
    assert cell.outputs[1]["text"] == "real warning\n"
    assert cell.outputs[2]["data"] == {"text/plain": "bar"}
    assert out.cells[2].execution_count is None  # no outputs: no number
    before = path.read_text()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "normalise_notebook.py"), str(path)], check=True,
                   capture_output=True)
    assert path.read_text() == before  # idempotent


def test_normalise_notebook_says_what_is_wrong_with_a_missing_or_broken_file(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    for path, message in [(tmp_path / "missing.ipynb", "no such notebook"), (broken, "is not a readable notebook")]:
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "normalise_notebook.py"), str(path)],
                              capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert broken.read_text() == "{not json"


# --- one command line --------------------------------------------------------------------------

def test_one_command_line_dispatches_and_refuses_unknown_commands(tmp_path):
    env = {**os.environ, "CATSDOGS_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    unknown = subprocess.run([sys.executable, "-m", "utils", "fly"], capture_output=True, text=True, env=env)
    assert unknown.returncode == 2 and "train|submit|runs" in unknown.stderr
    runs = subprocess.run([sys.executable, "-m", "utils", "runs"], capture_output=True, text=True, env=env)
    assert runs.returncode == 0 and "No runs in logs/ yet" in runs.stdout
