"""The Kaggle CSV writer and validator (utils.submission, notebook 08)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utils.evaluate import log_loss
from utils.submission import (
    SubmissionError,
    SubmissionExistsError,
    best_clip_bound,
    build_submission,
    clip_probabilities,
    clipping_curve,
    find_sample_submission,
    numeric_order,
    parse_id,
    validate_submission,
    write_submission,
)


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample_submission.csv"
    path.write_text("id,label\n" + "".join(f"{i},0.5\n" for i in range(1, 13)))
    return path


def test_parse_id_reads_numeric_names_and_refuses_others():
    assert parse_id("123.jpg") == 123
    assert parse_id("some/folder/7.JPEG") == 7
    for bad in ("cat.1.jpg", "12a.jpg", "-3.jpg", ".jpg", "1 2.jpg"):
        with pytest.raises(SubmissionError, match="numeric Kaggle id"):
            parse_id(bad)


def test_numeric_order_is_not_string_order():
    assert numeric_order(["10.jpg", "2.jpg", "1.jpg"]) == ["1.jpg", "2.jpg", "10.jpg"]


def test_build_submission_sorts_ids_numerically_and_keeps_pairs():
    frame = build_submission(["10.jpg", "1.jpg", "2.jpg"], [0.9, 0.1, 0.2])
    assert frame["id"].tolist() == [1, 2, 10]
    assert frame["label"].tolist() == [0.1, 0.2, 0.9]


def test_build_submission_refuses_bad_input():
    with pytest.raises(SubmissionError, match="pair up"):
        build_submission([1, 2], [0.5])
    with pytest.raises(SubmissionError, match=r"\[0, 1\]"):
        build_submission([1, 2], [0.5, 1.5])
    with pytest.raises(SubmissionError, match="NaN"):
        build_submission([1, 2], [0.5, np.nan])
    with pytest.raises(SubmissionError, match="positive"):
        build_submission([0, 2], [0.5, 0.5])
    with pytest.raises(SubmissionError, match="No predictions"):
        build_submission([], [])


def test_clipping_bounds_probabilities():
    p = np.array([0.0, 0.001, 0.5, 0.999, 1.0])
    np.testing.assert_allclose(clip_probabilities(p, 0.02), [0.02, 0.02, 0.5, 0.98, 0.98])
    np.testing.assert_allclose(clip_probabilities(p, None), p)
    with pytest.raises(SubmissionError):
        clip_probabilities(p, 0.5)


def test_log_loss_punishes_confident_mistakes_and_clipping_caps_them():
    labels = np.array([1, 1, 1, 0])
    p = np.array([0.99, 0.99, 0.99, 0.9999])  # the cat is called a dog with certainty
    assert log_loss(labels, p) == pytest.approx((3 * -np.log(0.99) - np.log(1e-4)) / 4)
    curve = clipping_curve(labels, p, [0.0, 0.05])
    assert curve.loc[1, "log_loss"] < curve.loc[0, "log_loss"]
    assert best_clip_bound(labels, p, [0.0, 0.01, 0.05, 0.2]) == 0.2
    # All right and confident: clipping only costs, so the smallest bound wins.
    assert best_clip_bound([1, 0], [0.999, 0.001], [0.0, 0.01, 0.1]) == 0.0


def test_write_submission_writes_header_sorted_rows_and_clips(tmp_path, sample):
    out = write_submission([10, 2, 1, 11, 12, 3, 4, 5, 6, 7, 8, 9], np.linspace(0, 1, 12), tmp_path / "s.csv",
                           clip=0.05, sample=sample)
    lines = out.read_text().splitlines()
    assert lines[0] == "id,label"
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(1, 13))
    labels = pd.read_csv(out)["label"]
    assert labels.min() == pytest.approx(0.05) and labels.max() == pytest.approx(0.95)
    assert validate_submission(out, sample=sample) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    assert out.stat().st_mode & 0o777 == 0o644  # readable like any file the user writes


def test_write_submission_never_overwrites_without_force(tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("my own notes\n")
    with pytest.raises(SubmissionExistsError, match="--force"):
        write_submission([1], [0.5], out)
    assert out.read_text() == "my own notes\n"
    write_submission([1], [0.5], out, force=True)
    assert out.read_text().startswith("id,label\n1,0.5")


def test_write_submission_refuses_a_count_mismatch_and_writes_nothing(tmp_path, sample):
    out = tmp_path / "submission.csv"
    with pytest.raises(SubmissionError, match="12"):
        write_submission([1, 2, 3], [0.1, 0.2, 0.3], out, sample=sample)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [sample]
    write_submission([1, 2, 3], [0.1, 0.2, 0.3], out, sample=sample, allow_subset=True)
    assert validate_submission(out, sample=sample, allow_subset=True) == []


@pytest.mark.parametrize(
    "text, problem",
    [
        ("ID,Label\n1,0.5\n", "header"),
        ("id,label,extra\n1,0.5,1\n", "header"),
        ("", "header"),
        ("id,label\n", "no rows"),
        ("id,label\n1,0.5\nx,0.5\n", "not positive integers"),
        ("id,label\n1,0.5\n2.5,0.5\n", "not positive integers"),
        ("id,label\n1,0.5\n0,0.5\n", "not positive integers"),
        ("id,label\n1,0.5\n2,1.2\n", r"\[0, 1\]"),
        ("id,label\n1,0.5\n2,dog\n", r"\[0, 1\]"),
        ("id,label\n1,0.5\n1,0.5\n", "more than once"),
        ("id,label\n1,0.5\n10,0.5\n2,0.5\n", "not sorted by numeric id"),
    ],
)
def test_validate_submission_finds_each_problem(tmp_path, text, problem):
    path = tmp_path / "s.csv"
    path.write_text(text)
    problems = validate_submission(path)
    assert any(pd.Series(problems).str.contains(problem)), problems


def test_validate_submission_against_sample_and_expected_ids(tmp_path, sample):
    path = tmp_path / "s.csv"
    path.write_text("id,label\n" + "".join(f"{i},0.5\n" for i in range(1, 12)))  # 11 of 12
    assert any("11 rows" in p for p in validate_submission(path, sample=sample))
    assert validate_submission(path, sample=sample, allow_subset=True) == []
    path.write_text("id,label\n1,0.5\n99,0.5\n")
    assert any("not in sample_submission.csv" in p for p in validate_submission(path, sample=sample, allow_subset=True))
    assert any("images were predicted" in p for p in validate_submission(path, expected_ids=[1, 2]))
    assert validate_submission(path, expected_ids=[99, 1]) == []


def test_find_sample_submission_looks_beside_the_images(tmp_path, sample):
    images = tmp_path / "test"
    images.mkdir()
    assert find_sample_submission(images) == sample


def test_real_sample_submission_is_accepted_as_is(shared_data):
    sample = shared_data / "dogs-vs-cats-sample" / "sample_submission.csv"
    assert validate_submission(sample, sample=sample) == []


def test_keep_previous_moves_an_old_submission_aside(tmp_path):
    from utils.submission import keep_previous

    out = tmp_path / "submission.csv"
    assert keep_previous(out, tmp_path / "old") is None
    out.write_text("id,label\n1,0.5\n")
    first = keep_previous(out, tmp_path / "old")
    assert not out.exists() and first.read_text() == "id,label\n1,0.5\n"
    out.write_text("id,label\n1,0.25\n")
    second = keep_previous(out, tmp_path / "old")
    assert second != first and second.read_text() == "id,label\n1,0.25\n" and first.exists()


def _sure_of_themselves(scale: float, n: int = 4_000, seed: int = 0):
    """Labels drawn from P(dog) = sigmoid(z), and the P(dog) = sigmoid(scale * z) a model over- or under-sure by
    ``scale`` would give."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return labels, 1 / (1 + np.exp(-scale * z))


def test_soften_divides_the_logit_and_keeps_every_answer_on_its_side():
    from utils.submission import logit, soften

    p = np.array([0.0, 1e-9, 0.02, 0.3, 0.5, 0.7, 0.98, 1.0])
    np.testing.assert_allclose(logit(soften(p, 2.0)), logit(p) / 2, rtol=1e-9)
    np.testing.assert_array_equal(soften(p, 1), p)  # 1 leaves P(dog) exactly as it was
    assert np.array_equal(soften(p, 3.0) > 0.5, p > 0.5) and soften(p, 3.0)[4] == 0.5
    assert np.all(np.abs(soften(p, 3.0) - 0.5) <= np.abs(p - 0.5)) and np.all(np.isfinite(logit(p)))
    assert soften([0.9], 0.5)[0] > 0.9  # below 1 it sharpens
    print("soften: logit / T, same side of 0.5, T = 1 changes nothing")


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), "warm", None, True])
def test_a_temperature_must_be_a_positive_number(bad):
    from utils.submission import soften

    with pytest.raises(SubmissionError, match="The temperature must be a positive number"):
        soften([0.5], bad)


@pytest.mark.parametrize("scale", [2.0, 1.0, 0.7])
def test_the_chosen_temperature_undoes_an_over_or_under_sure_model(scale):
    from utils.submission import best_temperature, soften

    labels, p = _sure_of_themselves(scale)
    chosen = best_temperature(labels, p)
    assert chosen == pytest.approx(scale, abs=0.2)
    assert log_loss(labels, soften(p, chosen)) <= log_loss(labels, p) + 1e-12
    print(f"over-sure by x{scale}: T = {chosen}")


def test_of_equal_temperatures_the_one_closest_to_1_is_chosen():
    from utils.submission import best_temperature

    p = np.full(10, 0.5)  # every temperature gives the same log loss
    assert best_temperature(np.r_[np.zeros(5), np.ones(5)], p, (0.5, 0.9, 1.25, 3.0)) == 0.9


def test_the_temperature_is_chosen_on_one_half_and_scored_on_the_other():
    from utils.submission import best_temperature, held_out_temperature, soften, validation_halves

    labels, p = _sure_of_themselves(2.0, n=2_000)
    half_a, half_b = validation_halves(labels, seed=3)
    p = p.copy()
    p[half_b] = 1 / (1 + np.exp(-0.25 * np.log(p[half_b] / (1 - p[half_b]))))  # half B under-sure: different T
    folds = held_out_temperature(labels, p, seed=3).set_index("chosen_on")
    assert folds.loc["A", "temperature"] == best_temperature(labels[half_a], p[half_a])
    assert folds.loc["B", "temperature"] == best_temperature(labels[half_b], p[half_b])
    assert folds.loc["A", "temperature"] > 1 > folds.loc["B", "temperature"]
    a = folds.loc["A"]
    assert a["scored_on"] == "B" and a["images_scored_on"] == len(half_b)
    assert a["held_out_plain"] == pytest.approx(log_loss(labels[half_b], p[half_b]))
    assert a["held_out_softened"] == pytest.approx(log_loss(labels[half_b], soften(p[half_b], a["temperature"])))
    with pytest.raises(SubmissionError, match="must pair up"):
        held_out_temperature(labels, p[:-1])
