"""A frozen base's features computed once and cached on disk, so the head trains on vectors (notebook 05)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import keras
import numpy as np

from utils import config
from utils.config import SEED

if TYPE_CHECKING:
    import pandas as pd
    import tensorflow as tf
    from utils.models.transfer import TransferModel

def compute_features(features: keras.Model, dataset: tf.data.Dataset, augment: keras.layers.Layer | None = None,
                     copies: int = 1, description: str = "base features",
                     show_progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run ``features`` over every batch of ``(images, labels)`` once; returns ``(X, y)`` arrays (notebook 05).

    With ``augment`` (a Keras layer/model applied with ``training=True``) and ``copies=k``, each
    image is seen ``k`` times with different random changes: ``k`` times the cost, done once.
    ``show_progress=False`` draws no progress bar (for a few batches it is only noise).
    """
    from utils.progress import progress

    xs, ys = [], []
    for copy in range(copies):
        batches = progress(dataset, desc=f"{description} ({copy + 1}/{copies})", unit="batch") if show_progress \
            else dataset
        for images, labels in batches:
            if augment is not None:
                images = augment(images, training=True)
            xs.append(np.asarray(features(images, training=False)))
            ys.append(np.asarray(labels))
    return np.concatenate(xs).astype("float32"), np.concatenate(ys)


def cached_features(features: keras.Model, dataset: tf.data.Dataset, path: Path | str,
                    **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_features`, stored in ``path`` (.npz) and read back on the next call (notebook 05)."""
    path = Path(path)
    if path.is_file():
        with np.load(path) as stored:
            return stored["x"], stored["y"]
    x, y = compute_features(features, dataset, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, x=x, y=y)
    tmp.replace(path)
    return x, y


def feature_dataset(x: np.ndarray, y: np.ndarray, batch_size: int = 64, shuffle: bool = False,
                    seed: int = SEED) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of cached feature vectors (what the head trains on) (notebook 05)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def feature_cache_name(base_name: str, image_size: tuple[int, int], weights_label: str, split: str, paths: Iterable[str],
                       copies: int | None = None) -> str:
    """The file name of a split's cached features: base, size, weights, split, augmentation (``copies``,
    None for none) and a digest of the exact list of images, in order (notebook 05)."""
    import hashlib

    digest = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:10]
    tag = "plain" if copies is None else f"aug{copies}"
    return f"{base_name.lower()}-{image_size[0]}-{weights_label}-{split}-{tag}-{digest}.npz"


def split_features(parts: TransferModel, frame: pd.DataFrame, split: str, batch_size: int = 32,
                   augment: keras.layers.Layer | None = None, copies: int = 1, weights_label: str = "imagenet",
                   cache_dir: Path | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cached base features ``(x, y)`` of one split of a manifest, in manifest order (notebook 05).

    Stored under ``data/features/`` keyed by base, size, weights, split, augmentation and the
    exact list of images, so a second run (or a changed manifest) never reads stale vectors.
    """
    from utils.data.pipeline import make_dataset

    rows = frame[frame["split"] == split]
    name = feature_cache_name(parts.base_name, parts.image_size, weights_label, split, rows["path"],
                              copies if augment is not None else None)
    folder = Path(cache_dir) if cache_dir is not None else config.data_dir() / "features"
    ds = make_dataset(rows, image_size=parts.image_size, batch_size=batch_size, shuffle=False, with_labels=True)
    return cached_features(parts.features, ds, folder / name, augment=augment,
                           copies=copies if augment is not None else 1, description=f"{split} features")
