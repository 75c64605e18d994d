"""The prediction command ``python -m utils.submit`` and Kaggle submission (notebook 08).

Runs on real test images from ../shared/data/dogs-vs-cats-sample/test.zip with a tiny model
trained for one step on real training images.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils import kaggle
from utils.predict import (PredictionError, batch_dog_probability, dog_column, load_model, model_input, predict_files, scan_images)
from utils.submission import validate_submission
from utils.cli.submit import choose_model, main

ROOT = Path(__file__).resolve().parent.parent
N_TEST = 30
WHOLE_KAGGLE_FILE = "id,label\n" + "".join(f"{i},0.5\n" for i in range(1, 12_501))  # what Kaggle scores


@pytest.fixture(scope="module")
def sample_dir(shared_data):
    return shared_data / "dogs-vs-cats-sample"


@pytest.fixture(scope="module")
def test_images(sample_dir, tmp_path_factory):
    """30 real Kaggle test images (ids 1..30) in a folder."""
    folder = tmp_path_factory.mktemp("test")
    with zipfile.ZipFile(sample_dir / "test.zip") as archive:
        for i in range(1, N_TEST + 1):
            (folder / f"{i}.jpg").write_bytes(archive.read(f"test/{i}.jpg"))
    return folder


@pytest.fixture(scope="module")
def tiny_model_path(sample_dir, tmp_path_factory):
    """A tiny CNN trained for one step on 8 real training images, saved as .keras."""
    import io

    import keras
    from PIL import Image

    keras.utils.set_random_seed(42)
    images, labels = [], []
    with zipfile.ZipFile(sample_dir / "train.zip") as archive:
        for i in range(4):
            for label, kind in enumerate(("cat", "dog")):
                image = Image.open(io.BytesIO(archive.read(f"train/{kind}.{i}.jpg"))).convert("RGB").resize((32, 32))
                images.append(np.asarray(image, dtype="float32"))
                labels.append(label)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy")
    model.fit(np.stack(images), np.array(labels), epochs=1, batch_size=8, verbose=0)
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    model.save(path)
    return path


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_command_end_to_end_writes_a_valid_submission(tiny_model_path, test_images, sample_dir, tmp_path):
    out = tmp_path / "submission.csv"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CATSDOGS_HEADLESS="1")
    done = subprocess.run(
        [sys.executable, "-m", "utils.submit", "--model", tiny_model_path, "--images", test_images,
         "--out", out, "--sample", sample_dir / "sample_submission.csv", "--clip", "0.05"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{N_TEST} readable JPEG" in done.stdout
    assert "Wrote" in done.stdout and "kaggle competitions submit -c dogs-vs-cats-redux-kernels-edition" in done.stdout
    frame = pd.read_csv(out)
    assert frame["id"].tolist() == list(range(1, N_TEST + 1))
    assert frame["label"].between(0.05, 0.95).all()
    assert validate_submission(out, sample=sample_dir / "sample_submission.csv", allow_subset=True) == []
    # A complete submission is what Kaggle needs: the partial one is flagged as such.
    assert validate_submission(out, sample=sample_dir / "sample_submission.csv") != []


def test_predictions_use_tta_and_the_models_input(tiny_model_path, test_images):
    model = load_model(tiny_model_path)
    assert model_input(model) == ((32, 32), "rgb")
    files = sorted(test_images.iterdir())[:8]
    with_tta = predict_files(model, files, batch_size=4, tta=True)
    plain = predict_files(model, files, batch_size=4, tta=False)
    assert with_tta.files == files and not with_tta.failed
    assert np.all((with_tta.probabilities >= 0) & (with_tta.probabilities <= 1))
    # TTA is exactly the mean of the image and its mirror image.
    from utils.data.pipeline import decode_and_resize

    batch = np.stack([decode_and_resize(str(f), (32, 32)).numpy() for f in files])
    mirrored = dog_column(model.predict_on_batch(batch[:, :, ::-1, :]))
    np.testing.assert_allclose(with_tta.probabilities, (plain.probabilities + mirrored) / 2, atol=1e-5)
    np.testing.assert_allclose(batch_dog_probability(model, batch, tta=False), plain.probabilities, atol=1e-5)


def test_dog_column_reads_both_heads():
    np.testing.assert_allclose(dog_column(np.array([[0.2, 0.8], [0.9, 0.1]])), [0.8, 0.1])
    np.testing.assert_allclose(dog_column(np.array([[0.7], [0.3]])), [0.7, 0.3])
    np.testing.assert_allclose(dog_column(np.array([[0.0], [0.0]]), "linear"), [0.5, 0.5])
    np.testing.assert_allclose(dog_column(np.array([[0.0, np.log(3.0)]]), "linear"), [0.75])
    with pytest.raises(PredictionError):
        dog_column(np.zeros((2, 3)))


def test_missing_model(capsys, test_images, tmp_path):
    code, _, err = run_cli(capsys, "--model", tmp_path / "nope.keras", "--images", test_images,
                           "--out", tmp_path / "s.csv")
    assert code == 2 and "No model file" in err
    assert not (tmp_path / "s.csv").exists()


def test_unreadable_model(capsys, test_images, tmp_path):
    fake = tmp_path / "broken.keras"
    fake.write_text("this is not a model")
    code, _, err = run_cli(capsys, "--model", fake, "--images", test_images, "--out", tmp_path / "s.csv")
    assert code == 2 and "Could not read the model" in err
    assert not (tmp_path / "s.csv").exists()


def test_no_model_anywhere_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    with pytest.raises(PredictionError, match="No usable model in models/"):
        choose_model(profile="default")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.keras").write_text("x")
    (tmp_path / "models" / "best.json").write_text('{"run": "b", "model_path": "models/b.keras"}')
    path, why = choose_model(profile="default")
    assert path.name == "a.keras" and "missing" in why
    (tmp_path / "models" / "b.keras").write_text("x")
    path, why = choose_model(profile="default")
    assert path.name == "b.keras" and "best.json" in why


def test_empty_folder(capsys, tiny_model_path, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, "--model", tiny_model_path, "--images", empty, "--out", tmp_path / "s.csv")
    assert code == 2 and "No readable JPEG images" in err
    code, _, err = run_cli(capsys, "--model", tiny_model_path, "--images", tmp_path / "absent",
                           "--out", tmp_path / "s.csv")
    assert code == 2 and "does not exist" in err


def test_non_image_and_corrupt_files_are_skipped_and_listed(capsys, tiny_model_path, test_images, sample_dir, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in (1, 2, 3):
        (folder / f"{i}.jpg").write_bytes((test_images / f"{i}.jpg").read_bytes())
    (folder / "123.jpg").write_text("not a picture")
    real = (test_images / "4.jpg").read_bytes()
    (folder / "4.jpg").write_bytes(real[: len(real) // 2])  # truncated download
    (folder / "notes.txt").write_text("hello")
    out = tmp_path / "s.csv"
    code, printed, err = run_cli(capsys, "--model", tiny_model_path, "--images", folder, "--out", out,
                                 "--sample", sample_dir / "sample_submission.csv")
    assert code == 0, err
    assert "3 readable JPEG image(s); 3 file(s) skipped" in printed
    assert "skipped 123.jpg: not an image" in printed
    assert "skipped 4.jpg: corrupt or truncated" in printed
    assert "skipped notes.txt" in printed
    assert "3 file(s) skipped, listed above" in printed
    assert pd.read_csv(out)["id"].tolist() == [1, 2, 3]


def test_scan_lists_a_png_named_jpg(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "5.jpg", format="PNG")  # made-up image: a unit test of the check
    scan = scan_images(tmp_path)
    assert scan.files == [] and scan.skipped == [("5.jpg", "not a JPEG (a PNG image)")]


def test_non_numeric_file_names(capsys, tiny_model_path, sample_dir, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    with zipfile.ZipFile(sample_dir / "train.zip") as archive:
        (folder / "cat.1.jpg").write_bytes(archive.read("train/cat.1.jpg"))
        (folder / "dog.1.jpg").write_bytes(archive.read("train/dog.1.jpg"))
    code, _, err = run_cli(capsys, "--model", tiny_model_path, "--images", folder, "--out", tmp_path / "s.csv")
    assert code == 2 and "not named by a numeric Kaggle id" in err and "cat.1.jpg" in err
    assert not (tmp_path / "s.csv").exists()


def test_ids_outside_the_competition(capsys, tiny_model_path, test_images, sample_dir, tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "5000.jpg").write_bytes((test_images / "1.jpg").read_bytes())
    args = ["--model", tiny_model_path, "--images", folder, "--out", tmp_path / "s.csv"]
    code, _, err = run_cli(capsys, *args, "--sample", sample_dir / "sample_submission.csv")
    assert code == 2 and "are not in" in err and "--sample none" in err
    code, _, err = run_cli(capsys, *args, "--sample", "none")
    assert code == 0, err


def test_existing_output_needs_force(capsys, tiny_model_path, test_images, tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("keep me\n")
    args = ["--model", tiny_model_path, "--images", test_images, "--out", out, "--sample", "none"]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "already exists" in err and "--force" in err
    assert out.read_text() == "keep me\n"
    code, printed, err = run_cli(capsys, *args, "--force", "--no-tta")
    assert code == 0, err
    assert "without test-time augmentation" in printed
    assert len(pd.read_csv(out)) == N_TEST


def test_bad_clip(capsys, tiny_model_path, test_images, tmp_path):
    code, _, err = run_cli(capsys, "--model", tiny_model_path, "--images", test_images,
                           "--out", tmp_path / "s.csv", "--clip", "0.7")
    assert code == 2 and "--clip" in err


def test_a_temperature_softens_every_answer_before_clipping_and_changes_no_side(capsys, tiny_model_path, test_images,
                                                                                tmp_path):
    from utils.submission import soften

    plain, softened = tmp_path / "plain.csv", tmp_path / "softened.csv"
    code, _, err = run_cli(capsys, "--model", tiny_model_path, "--images", test_images, "--out", plain,
                           "--sample", "none", "--clip", "0")
    assert code == 0, err
    code, out, err = run_cli(capsys, "--model", tiny_model_path, "--images", test_images, "--out", softened,
                             "--sample", "none", "--clip", "0", "--temperature", "2.5")
    assert code == 0, err
    assert "logits divided by the temperature 2.5; not clipped." in out
    assert "-m 'tiny, tta=on, temperature=2.5, clip=0'" in out  # the Kaggle message says both
    p, q = pd.read_csv(plain)["label"].to_numpy(), pd.read_csv(softened)["label"].to_numpy()
    np.testing.assert_allclose(q, soften(p, 2.5), atol=2e-6)  # the CSV keeps 6 decimals
    assert np.all(np.abs(q - 0.5) <= np.abs(p - 0.5) + 1e-6) and np.array_equal(q > 0.5, p > 0.5)
    assert np.abs(q - 0.5).max() < np.abs(p - 0.5).max()  # it did soften


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_bad_temperature_is_refused_before_any_work(capsys, tiny_model_path, test_images, tmp_path, value):
    code, out, err = run_cli(capsys, "--model", tiny_model_path, "--images", test_images,
                             "--out", tmp_path / "s.csv", "--temperature", value)
    assert code == 2 and "--temperature: The temperature must be a positive number" in err, err
    assert out == "" and not (tmp_path / "s.csv").exists()


def test_kaggle_submit_runs_the_exact_command_when_set_up(fake_kaggle, tmp_path):
    program, record, config = fake_kaggle
    csv = tmp_path / "submission.csv"
    csv.write_text(WHOLE_KAGGLE_FILE)
    result = kaggle.submit(csv, "first try", confirm=True)
    assert not result.ran and "No Kaggle credentials" in result.message and "kaggle.json" in result.message
    assert not record.exists()
    (config / "kaggle.json").write_text("{}")
    result = kaggle.submit(csv, "first try", confirm=True)
    assert result.ran and result.ok, result.message
    assert record.read_text().splitlines() == [
        "competitions", "submit", "-c", "dogs-vs-cats-redux-kernels-edition", "-f", str(csv), "-m", "first try"]
    assert result.command == f"kaggle competitions submit -c dogs-vs-cats-redux-kernels-edition -f {csv} -m 'first try'"


def test_kaggle_submit_never_fails_offline(fake_kaggle, tmp_path, monkeypatch):
    program, record, config = fake_kaggle
    (config / "kaggle.json").write_text("{}")
    program.write_text("#!/bin/sh\necho 'ConnectionError: no network' >&2\nexit 1\n")
    csv = tmp_path / "submission.csv"
    csv.write_text(WHOLE_KAGGLE_FILE)
    result = kaggle.submit(csv, "m", confirm=True)
    assert result.ran and not result.ok and "no network" in result.message
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))  # no venv bin/ either
    assert kaggle.kaggle_program() is None
    result = kaggle.submit(csv, "m", confirm=True)
    assert not result.ran and "not installed" in result.message


def test_command_submits_with_kaggle_flag(capsys, fake_kaggle, tiny_model_path, test_images, tmp_path):
    program, record, config = fake_kaggle
    (config / "kaggle.json").write_text("{}")
    out = tmp_path / "submission.csv"
    code, printed, err = run_cli(capsys, "--model", tiny_model_path, "--images", test_images, "--out", out,
                                 "--sample", "none", "--kaggle", "-m", "tiny model")
    assert code == 0, err
    # 30 test images are not Kaggle's 12,500: the file is written, the command printed, nothing sent
    assert f"Not submitted: it has {N_TEST} row(s)" in printed and "12,500" in printed, printed
    assert "-m 'tiny model'" in printed and not record.exists()


def test_only_a_whole_kaggle_file_is_sent(fake_kaggle, tmp_path):
    program, record, config = fake_kaggle
    (config / "kaggle.json").write_text("{}")
    csv = tmp_path / "submission.csv"
    for partial in ["id,label\n1,0.5\n",  # one row, e.g. a sample's test set
                    WHOLE_KAGGLE_FILE.replace("\n12500,0.5\n", "\n"),  # one id missing
                    WHOLE_KAGGLE_FILE + "12500,0.5\n",  # one id twice
                    "label\n0.5\n"]:  # no id column
        csv.write_text(partial)
        result = kaggle.submit(csv, "m", confirm=True)
        assert not result.ran and result.message.startswith("Not submitted: "), result.message
        assert not record.exists()
    csv.write_text(WHOLE_KAGGLE_FILE)
    assert kaggle.submit(csv, "m", confirm=True).ran and record.exists()
