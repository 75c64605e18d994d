"""bench/calibration.py: more test-time views and a temperature, on a trained run, chosen on validation only."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module():
    sys.path.insert(0, str(ROOT / "bench"))  # calibration imports accuracy, beside it
    spec = importlib.util.spec_from_file_location("bench_calibration", ROOT / "bench" / "calibration.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(*args, home: Path, script: str = "bench/calibration.py") -> subprocess.CompletedProcess:
    env = {**os.environ, "CATSDOGS_HOME": str(home), "CATSDOGS_HEADLESS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *script.split(), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=900)


def _overconfident(scale: float, n: int = 20_000, seed: int = 0):
    """Labels drawn from P(dog) = sigmoid(z), and the logits ``scale * z`` a model would report."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return labels, (scale * z)[:, None]


@pytest.mark.parametrize("scale", [1.0, 2.0, 0.5])
def test_the_fitted_temperature_undoes_an_over_or_under_confident_model(scale):
    calibration = _module()
    labels, logits = _overconfident(scale)
    temperature = calibration.fit_temperature(labels, logits)
    assert temperature == pytest.approx(scale, rel=0.15)
    plain, fitted = calibration.scores(labels, logits)[1], calibration.scores(labels, logits, temperature)[1]
    assert fitted <= plain + 1e-12
    print(f"confidence x{scale}: T = {temperature:.2f}, log loss {plain:.4f} -> {fitted:.4f}")


def test_a_temperature_never_changes_which_answer_one_view_gives():
    calibration = _module()
    labels, logits = _overconfident(2.0, n=500)
    for temperature in (0.5, 1.7, 4.0):
        assert np.array_equal(calibration.p_dog(logits, temperature) > 0.5, calibration.p_dog(logits) > 0.5)
    assert calibration.scores(labels, logits, 1.7)[0] == calibration.scores(labels, logits)[0]


def test_each_part_is_scored_with_the_temperature_fitted_on_the_other_parts():
    calibration = _module()
    labels, logits = _overconfident(2.0, n=2_000)
    logits = logits.copy()
    # One half of the images is four times as overconfident: a fit that saw its own images would differ.
    parts = np.array_split(np.random.default_rng(7).permutation(len(labels)), 2)
    logits[parts[0]] *= 4.0
    accuracy, log_loss, temperatures = calibration.cross_validated(labels, logits, folds=2, seed=7)
    expected = [calibration.fit_temperature(labels[parts[1]], logits[parts[1]]),
                calibration.fit_temperature(labels[parts[0]], logits[parts[0]])]
    assert temperatures == expected and temperatures[0] < temperatures[1] / 2
    p = np.empty(len(labels))
    p[parts[0]] = calibration.p_dog(logits[parts[0]], temperatures[0])
    p[parts[1]] = calibration.p_dog(logits[parts[1]], temperatures[1])
    from utils import evaluate
    from utils.submission import clip_probabilities

    assert log_loss == pytest.approx(evaluate.log_loss(labels, clip_probabilities(p, 0.02)))


def test_the_views_are_the_image_its_crops_and_their_mirrors():
    calibration = _module()
    rows, cols = np.meshgrid(np.arange(40, dtype="float32"), np.arange(40, dtype="float32"), indexing="ij")
    image = np.stack([rows, cols, rows + cols], axis=-1)[None]  # each pixel knows where it is
    names = calibration.VIEW_SETS[list(calibration.VIEW_SETS)[-1]]
    shown = calibration.views(image, names)
    assert len(shown) == 12 and all(v.shape == image.shape for v in shown.values())
    assert np.array_equal(shown["image"], image) and np.array_equal(shown["image mirror"], image[:, :, ::-1])
    # a 90% corner crop keeps its corner pixel and reaches 90% of the way across
    assert shown["top left"][0, 0, 0, :2].tolist() == [0.0, 0.0]
    assert shown["bottom right"][0, -1, -1, :2].tolist() == [39.0, 39.0]
    assert shown["top left"][0, -1, -1, 0] == pytest.approx(0.9 * 39, abs=0.6)
    centre = shown["centre"][0, :, :, 0]
    assert centre[0, 0] == pytest.approx(0.05 * 39, abs=0.6) and centre[-1, -1] == pytest.approx(0.95 * 39, abs=0.6)
    assert np.array_equal(shown["centre mirror"], shown["centre"][:, :, ::-1])
    print("12 views: image, centre and four corner crops of 90%, each with its mirror")


@pytest.mark.slow
def test_calibration_scores_a_trained_run_on_validation_and_then_the_evaluation_set(shared_data, tmp_path):
    trained = _run("--profile", "smoke", "--variant", "larger_input", home=tmp_path, script="-m utils.train")
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = _run("--profile", "smoke", "--eval", "--eval-limit", "40", home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ")]
    views = [r for r in rows if len(r) == 7]
    assert [r[0].strip() for r in views[1:]] == list(_module().VIEW_SETS)
    assert [int(r[1]) for r in views[1:]] == [2, 4, 12]
    assert all(0 <= float(r[i]) <= 1 for r in views[1:] for i in (2, 4))
    assert all(len(r[6].split(",")) == 2 for r in views[1:])  # one temperature per part
    eval_rows = [r for r in rows if len(r) == 3][1:]
    assert eval_rows[0][0].strip() == "as the prediction command gives it"
    assert re.fullmatch(r" with T = \d\.\d\d ", eval_rows[1][0])
    assert "60 validation images" in result.stdout and "40 images from eval.zip" in result.stdout
    assert "Machine:" in result.stdout
    missing = _run("--profile", "smoke", "--eval", str(tmp_path / "no-eval.zip"), home=tmp_path)
    assert missing.returncode == 2 and "No evaluation set at" in missing.stderr, missing.stderr[-2000:]
    assert missing.stdout.strip() == "" and "Traceback" not in missing.stderr  # checked before any table


@pytest.mark.parametrize("args, message", [
    (["--folds", "1"], "--folds must be at least 2"),
    (["--variant", "nope"], "unknown variant 'nope'"),
    (["--profile", "nope"], "unknown profile 'nope'"),
    (["--run", "nope"], "no finished run named 'nope'"),
    ([], "no finished run of 'larger_input' in profile 'default' in the workspace: train one first"),
    (["--eval-limit", "1"], "--eval-limit must be at least 2"),
])
def test_calibration_bad_inputs_get_one_clear_message(args, message, tmp_path):
    result = _run(*args, home=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and result.stdout.strip() == ""
