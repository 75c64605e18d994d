"""Every exercise has a self-check (``utils.check``) that passes the solution, gives a wrong
answer a hint (never the answer) and a blank one a "no answer yet", and never raises (issue 17).

The notebooks are checked too: each exercise of the "## Exercises" list has one cell tagged
``exercise`` that calls its check on a ``...`` placeholder, and the solution cells ``assert`` the
checks (nbval runs them in every notebook test).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from utils import check
from utils.check._report import Verdict

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NO_SINGLE_ANSWER = {"06.4"}  # sorting the mistakes depends on the run: the check only counts them


def run(capsys, function, *args):
    """``(correct, printed)``: what the check decided (a bool) and the line it printed."""
    ok = function(*args)
    assert isinstance(ok, Verdict), ok
    return ok.correct, capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# Fixtures: small real objects of the kind each notebook passes in.

@pytest.fixture(scope="module")
def gray():
    rng = np.random.default_rng(0)
    image = np.zeros((160, 160))
    image[:, 60:] = 200.0  # a vertical edge
    image[90:, :] = 90.0   # a horizontal one
    return image + rng.normal(0, 5, image.shape)


@pytest.fixture(scope="module")
def small_model():
    from utils.models.registry import build_model

    return build_model("deeper", compile=False)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(1).uniform(0, 255, (64, 64, 3)).astype("float32")


@pytest.fixture
def ranking():
    return pd.DataFrame({"run": ["deeper-1", "augmented-1", "baseline-1"],
                         "model_val_loss": [0.40, 0.49, 0.58], "model_val_accuracy": [0.85, 0.86, 0.70]})


@pytest.fixture
def metrics():
    return pd.DataFrame({"run": ["deeper-1"] * 4, "epoch": [0, 1, 2, 3],
                         "loss": [0.7, 0.5, 0.4, 0.3], "val_loss": [0.69, 0.52, 0.45, 0.47]})


def costs(ms_by_resolution: dict[int, float]) -> pd.DataFrame:
    rows = [{"layer": f"conv{r}", "type": "Conv2D", "resolution": r, "MFLOPs": 10.0, "ms": ms}
            for r, ms in ms_by_resolution.items()]
    table = pd.DataFrame(rows)
    table["share of time"] = table["ms"] / table["ms"].sum()
    return table


# ------------------------------------------------------------------------------------------
# For each exercise: (arguments that pass, arguments that must get a hint).

def cases(gray, small_model, image, ranking, metrics):
    from keras import layers

    import keras
    from utils.explain import grad_cam
    from utils.models.registry import augmentation_layers, build_model, get_variant
    from utils.predict import dog_probability

    labelled = pd.DataFrame({"path": [f"{c}.{i}.jpg" for c in ("cat", "dog") for i in range(20)],
                             "label": [0] * 20 + [1] * 20,
                             "sha256": [f"{i:064x}" for i in range(40)]})
    from utils.data.splits import split_labelled

    first, second = split_labelled(labelled, None, 0.25, seed=42), split_labelled(labelled, None, 0.25, seed=7)
    dog_map, _ = grad_cam(small_model, image, class_index=1, layer_name="block3_relu2")
    cat_map, _ = grad_cam(small_model, image, class_index=0, layer_name="block3_relu2")
    early, _ = grad_cam(small_model, image, class_index=1, layer_name="block1_relu1")
    flipped = float(dog_probability(small_model, image[None, :, ::-1])[0])
    unflipped = float(dog_probability(small_model, image[None])[0])
    no_rotation = keras.Sequential([layer for layer in augmentation_layers().layers
                                    if type(layer).__name__ != "RandomRotation"])
    schedule = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=9 * 50, warmup_target=2e-3, warmup_steps=50)
    constant = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=10 * 50)
    dropout_model = build_model("baseline", compile=False, dropout=0.5)
    p_two = np.random.default_rng(2).uniform(0, 1, 200)
    p_three = np.clip(p_two + np.random.default_rng(3).normal(0, 0.02, 200), 0, 1)
    slow_4x4 = costs({64: 1.0, 32: 1.0, 4: 8.0})
    faster_4x4 = costs({64: 2.0, 32: 2.0, 4: 8.0})  # batch 128: twice the time except at 4x4
    return {
        "01.1": (("duplicates", True), ("corrupt", True)),
        "01.2": ((first, second), (first, first)),
        "01.3": ((25_000 * 224 * 224 * 3 * 4 / 1e9,), (25_000 * 224 * 224 * 3 / 1e9,)),
        "02.1": (([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]],), ([[-1, 0, 1]] * 3,)),
        "02.2": (([(126, 126, 32), (63, 63, 32), (32, 32, 64), (10, 10, 64), (6400,)],),
                 ([(126, 126, 32), (63, 63, 32), (31, 31, 64), (10, 10, 64), (6400,)],)),
        "02.3": ((gray, check.convolution._best_pooling(gray)),
                 (gray, next(k for k in ("max 2x2", "average 2x2") if k != check.convolution._best_pooling(gray)))),
        "03.1": (((46, 46, 16), 416), ((50, 50, 16), 416)),
        "03.2": (((6 * 6 * 128 + 1) * 128,), ((6 * 6 * 128) * 128,)),
        "03.3": ((dropout_model,), (build_model("baseline", compile=False),)),
        "04.1": ((3.98, 1.0), (2.25, 1.0)),
        "04.2": ((no_rotation,), (augmentation_layers(),)),
        "04.3": (("python -m utils.train --variant baseline --epochs 3",),
                 ("python -m utils.train --variant baseline --epochs 30",)),
        "04.4": ((schedule, 50), (constant, 50)),
        "04.5": ((0.6,), (0.4,)),
        "05.1": (("efficientnetb0_notop.h5", False), ("efficientnetb0_notop.h5", True)),
        "05.2": (("b",), ("a",)),
        "05.3": ((64_000, 3_200), (3_200, 3_200)),
        "06.1": ((small_model, image, "block3_relu2", cat_map), (small_model, image, "block3_relu2", dog_map)),
        "06.2": ((small_model, "block1_relu1", early, "block3_relu2"),
                 (small_model, "block3_relu2", dog_map, "block3_relu2")),
        "06.3": ((small_model, image, flipped), (small_model, image, unflipped + 0.5)),
        "06.4": (({"small or hidden": 2, "context": 3, "ambiguous": 2, "several or none": 1}, list(range(8))),
                 ({"small or hidden": 2, "context": 3}, list(range(8)))),
        "07.1": (("^(deeper-1|augmented-1)/validation$", ranking), ("validation", ranking)),
        "07.2": (("augmented-1", ranking), ("deeper-1", ranking)),
        "07.3": (("deeper-1", 2, 0.17, metrics), ("deeper-1", 3, 0.17, metrics)),
        "07.4": (("b",), ("a",)),
        "08.1": ((math.log(2),), (0.5,)),
        "08.2": ((p_three, p_two), (p_two, p_two)),
        "08.3": ((2,), (1,)),
        "09.1": (("4x4", slow_4x4), ("64x64", slow_4x4)),
        "09.2": (("4x4", slow_4x4, faster_4x4), ("64x64", slow_4x4, faster_4x4)),
        "09.3": ((get_variant("deeper", convs_per_block=2, epochs=30),), (get_variant("deeper", epochs=30),)),
    }


@pytest.fixture(scope="module")
def all_cases(gray, small_model, image):
    frame = pd.DataFrame({"run": ["deeper-1", "augmented-1", "baseline-1"],
                          "model_val_loss": [0.40, 0.49, 0.58], "model_val_accuracy": [0.85, 0.86, 0.70]})
    history = pd.DataFrame({"run": ["deeper-1"] * 4, "epoch": [0, 1, 2, 3],
                            "loss": [0.7, 0.5, 0.4, 0.3], "val_loss": [0.69, 0.52, 0.45, 0.47]})
    return cases(gray, small_model, image, frame, history)


def test_every_check_has_cases(all_cases):
    assert set(all_cases) == set(check.CHECKS)
    assert len(check.CHECKS) == 31


@pytest.mark.parametrize("number", sorted(check.CHECKS))
def test_solution_passes_and_wrong_answer_gets_a_hint(number, all_cases, capsys):
    good, bad = all_cases[number]
    ok, out = run(capsys, check.CHECKS[number], *good)
    assert ok is True and out.startswith(f"Exercise {number}: correct."), out
    ok, out = run(capsys, check.CHECKS[number], *bad)
    assert ok is False and out.startswith(f"Exercise {number}: not yet. Hint: "), out


@pytest.mark.parametrize("number", sorted(check.CHECKS))
def test_blank_answer_asks_for_one_and_does_not_raise(number, all_cases, capsys):
    good, _ = all_cases[number]
    blank = tuple(... if not isinstance(a, dict) else {k: ... for k in a} for a in good)
    ok, out = run(capsys, check.CHECKS[number], *blank)
    assert ok is False and "no answer yet" in out


def test_a_verdict_shows_nothing_more_as_the_last_value_of_a_cell(capsys):
    """Not the echoed ``False`` under "no answer yet": the check's printed line is all a learner sees."""
    from IPython.core.interactiveshell import InteractiveShell

    verdict = check.loader_memory_gb(...)
    assert not verdict and "no answer yet" in capsys.readouterr().out
    assert InteractiveShell.instance().display_formatter.format(verdict) == ({}, {})
    assert InteractiveShell.instance().display_formatter.format(False)[0] == {"text/plain": "False"}


def test_an_answer_of_the_wrong_kind_gets_a_message_not_a_traceback(capsys):
    ok, out = run(capsys, check.loader_memory_gb, "fifteen")
    assert ok is False and "could not be checked" in out and "Traceback" not in out


def test_hints_never_print_the_answer(all_cases, capsys):
    secrets = {"01.3": "15.05", "03.1": "416", "03.2": "589", "08.1": "0.693", "05.3": "64,000", "02.2": "(32, 32, 64)"}
    for number, secret in secrets.items():
        _, bad = all_cases[number]
        _, out = run(capsys, check.CHECKS[number], *bad)
        assert secret not in out, (number, out)


# ------------------------------------------------------------------------------------------
# The notebooks: one exercise cell per exercise, solutions asserting their checks.

def exercise_numbers(nb) -> list[int]:
    text = next(c.source for c in nb.cells if c.cell_type == "markdown" and "## Exercises" in c.source)
    text = text[text.index("## Exercises"):]
    return sorted({int(n) for n in re.findall(r"^(?:\*\*)?(\d+)\.", text, re.M)})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_every_exercise_has_a_check_cell(path):
    nb = nbformat.read(path, as_version=4)
    key = path.stem[:2]
    cells = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    numbers = exercise_numbers(nb)
    assert numbers and len(cells) == len(numbers), (numbers, len(cells))
    for n, cell in zip(numbers, cells):
        assert cell.source.startswith(f"# Exercise {n}:")
        called = re.findall(r"check\.(\w+)\(", cell.source)
        assert called and check.CHECKS[f"{key}.{n}"].__name__ == called[-1], (n, called)
        assert "..." in cell.source and "solution" not in cell.metadata.get("tags", [])
    solutions = "\n".join(c.source for c in nb.cells
                          if c.cell_type == "code" and "solution" in c.metadata.get("tags", []))
    for n in numbers:
        if f"{key}.{n}" not in NO_SINGLE_ANSWER:
            assert f"assert check.{check.CHECKS[f'{key}.{n}'].__name__}(" in solutions, (key, n)
