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
