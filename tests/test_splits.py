"""The split is deterministic, stratified, profile-sized and keeps duplicates together."""
import hashlib

import pandas as pd
import pytest

from utils.data.splits import split_labelled


def frame_of(n_cats, n_dogs, duplicate_every=0):
    rows = []
    for label, n in ((0, n_cats), (1, n_dogs)):
        for i in range(n):
            content = f"{label}-{i // duplicate_every if duplicate_every else i}"
            rows.append({"path": f"train/{'cat' if label == 0 else 'dog'}.{i}.jpg", "label": label,
                         "sha256": hashlib.sha256(content.encode()).hexdigest()})
    return pd.DataFrame(rows)


def test_same_seed_same_split_any_input_order():
    frame = frame_of(300, 300)
    a = split_labelled(frame, 400, 0.25, seed=7)
    b = split_labelled(frame.sample(frac=1, random_state=3), 400, 0.25, seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_the_fixed_split_of_seed_42_never_changes():
    """Pinned result: the split must be the same on every machine and library version."""
    chosen = split_labelled(frame_of(50, 50), 20, 0.2, seed=42)
    validation = chosen.loc[chosen["split"] == "validation", "path"].tolist()
    digest = hashlib.sha256(",".join(chosen["path"]).encode()).hexdigest()[:12]
    assert validation == ["train/cat.37.jpg", "train/cat.48.jpg", "train/dog.17.jpg", "train/dog.45.jpg"]
    assert digest == "5ba5d52650e9"


def test_another_seed_gives_another_split():
    frame = frame_of(100, 100)
    a = split_labelled(frame, 100, 0.2, seed=1)
    b = split_labelled(frame, 100, 0.2, seed=2)
    assert set(a["path"]) != set(b["path"])


def test_stratified_and_sized_by_the_profile():
    chosen = split_labelled(frame_of(700, 300), 400, 0.25, seed=42)
    counts = chosen.groupby(["split", "label"]).size().to_dict()
    assert counts == {("train", 0): 150, ("train", 1): 150, ("validation", 0): 50, ("validation", 1): 50}


def test_no_image_in_both_splits_and_duplicates_stay_together():
    frame = frame_of(200, 200, duplicate_every=3)
    chosen = split_labelled(frame, None, 0.2, seed=42)
    assert len(chosen) == 400
    assert not set(chosen.loc[chosen.split == "train", "path"]) & set(chosen.loc[chosen.split == "validation", "path"])
    splits_per_image = chosen.groupby("sha256")["split"].nunique()
    assert (splits_per_image == 1).all()


def test_smaller_profile_is_a_subset_of_a_larger_one():
    frame = frame_of(500, 500)
    small = split_labelled(frame, 100, 0.2, seed=42)
    large = split_labelled(frame, 600, 0.2, seed=42)
    assert set(small["path"]) <= set(large["path"])


@pytest.mark.parametrize("max_labelled", [None, 10_000])
def test_asking_for_more_than_there_is_takes_everything(max_labelled):
    assert len(split_labelled(frame_of(30, 20), max_labelled, 0.2)) == 50
