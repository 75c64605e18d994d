"""The tf.data pipeline: shapes, labels, colour modes, caching, and memory that does not grow."""
import numpy as np
import pytest

from utils.data.loaders import measure_loader, seed_loader
from utils.data.pipeline import labels_of, make_dataset


def test_batches_have_the_requested_shape_and_labels(manifest):
    ds = make_dataset(manifest, "validation", image_size=(64, 48), batch_size=16)
    images, labels = next(iter(ds))
    assert images.shape == (16, 64, 48, 3) and images.dtype.name == "float32"
    assert 0.0 <= float(np.min(images)) and float(np.max(images)) <= 255.0
    all_labels = np.concatenate([y.numpy() for _, y in ds])
    np.testing.assert_array_equal(all_labels, labels_of(manifest, "validation"))


def test_grayscale_and_test_split_yields_ids(manifest):
    images, ids = next(iter(make_dataset(manifest, "test", (32, 32), "grayscale", batch_size=8)))
    assert images.shape == (8, 32, 32, 1)
    assert ids.numpy().tolist() == list(range(1, 9))


def test_shuffling_is_seeded_and_reshuffles_each_epoch(manifest):
    def order(ds):
        return np.concatenate([y.numpy() for _, y in ds])

    a = make_dataset(manifest, "train", (16, 16), batch_size=32, seed=1)
    b = make_dataset(manifest, "train", (16, 16), batch_size=32, seed=1)
    first, second = order(a), order(a)
    np.testing.assert_array_equal(first, order(b))
    assert not np.array_equal(first, second)
    assert sorted(first) == sorted(labels_of(manifest, "train"))


def test_memory_cache_gives_the_same_images(manifest):
    plain = make_dataset(manifest, "validation", (32, 32), batch_size=60)
    cached = make_dataset(manifest, "validation", (32, 32), batch_size=60, cache="memory")
    x1, _ = next(iter(plain))
    for _ in range(2):
        x2, _ = next(iter(cached))
        np.testing.assert_allclose(x1.numpy(), x2.numpy(), atol=0.5)  # cached as uint8


@pytest.mark.parametrize("split, cache", [("train", None), ("train", "memory"), ("validation", "memory"), ("test", None)])
def test_every_dataset_runs_without_the_autotune_thread(manifest, split, cache):
    # Keras makes a new iterator per epoch; with tf.data's autotuning thread on, tearing one down
    # left both cores idle for about 10 s per epoch in TensorFlow 2.21 (utils.data.pipeline).
    ds = make_dataset(manifest, split, (16, 16), batch_size=8, cache=cache)
    assert ds.options().autotune.enabled is False
    images, _ = next(iter(ds))
    assert images.shape == (8, 16, 16, 3)


def test_seed_loader_matches_the_seed_recipe(manifest):
    import cv2

    path = manifest["filepath"].iloc[0]
    array = seed_loader([path], size=50, grayscale=True)
    expected = cv2.resize(cv2.imread(path, cv2.IMREAD_GRAYSCALE), (50, 50)).astype(np.float32)
    assert array.shape == (1, 50, 50, 1)
    np.testing.assert_array_equal(array[0, :, :, 0], expected)


def test_unknown_colour_mode_and_empty_split_are_explained(manifest):
    with pytest.raises(ValueError, match="color_mode"):
        make_dataset(manifest, "train", color_mode="cmyk")
    with pytest.raises(ValueError, match="No images in the nothing split"):
        make_dataset(manifest, "nothing")


def test_streaming_memory_does_not_grow_with_the_image_count(shared_data):
    """Doubling the images doubles the seed loader's memory but not tf.data's."""
    from utils.data.dataset import load_manifest

    paths = load_manifest("default")["filepath"].tolist()
    figures = {}
    for loader in ("seed", "tfdata"):
        for n in (1000, 2000):
            figures[loader, n] = measure_loader(loader, paths[:n], size=128, grayscale=False)["growth_mb"]
    seed_growth = figures["seed", 2000] - figures["seed", 1000]
    stream_growth = figures["tfdata", 2000] - figures["tfdata", 1000]
    # 1,000 more 128x128 RGB float32 images take 196 MB held in one array
    assert seed_growth > 150, figures
    assert stream_growth < 40, figures
