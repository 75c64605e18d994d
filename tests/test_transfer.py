"""Tests for utils.models.transfer (notebook 05): weights lookup offline, feature caching, fine-tuning.

No ImageNet weights are needed: the offline test writes a file under the exact name Keras
expects (from a randomly initialised MobileNetV2) and checks the builder loads it with the
network blocked. Other tests use a random base at 96x96 to stay fast.
"""
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from utils.models import transfer

MOBILENET_160 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"


def test_weights_file_is_the_one_keras_downloads():
    name, origin = transfer.imagenet_weights_file("MobileNetV2", 160)
    assert name == MOBILENET_160
    assert origin == "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" + MOBILENET_160
    assert transfer.imagenet_weights_file("MobileNetV2", 96)[0].endswith("_1.0_96_no_top.h5")
    assert transfer.imagenet_weights_file("ResNet50", 224)[0] == "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(ValueError, match="Unknown base"):
        transfer.imagenet_weights_file("NoSuchNet", 160)


def _run_offline(script: str, keras_home) -> dict:
    """Run ``script`` in a fresh Python whose Keras home is ``keras_home`` and whose sockets fail."""
    prelude = textwrap.dedent("""
        import json, socket, urllib.request
        def _no_network(*args, **kwargs):
            raise RuntimeError("network access attempted")
        socket.socket.connect = _no_network
        socket.create_connection = _no_network
        urllib.request.urlretrieve = _no_network
        urllib.request.urlopen = _no_network
    """)
    env = {**os.environ, "KERAS_HOME": str(keras_home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_weights_found_offline_or_explained(tmp_path):
    result = _run_offline(f"""
        import h5py, keras, numpy as np
        from keras.src.legacy.saving import legacy_h5_format
        from utils.models import transfer

        missing = transfer.imagenet_weights_available()
        try:
            transfer.build_transfer_model()
            raised = ""
        except transfer.WeightsUnavailable as error:
            raised = str(error)

        # What Keras would have downloaded: a no-top MobileNetV2 in the legacy .h5 layout.
        source = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(160, 160, 3))
        transfer.keras_cache_dir().mkdir(parents=True, exist_ok=True)
        with h5py.File(transfer.keras_cache_dir() / "{MOBILENET_160}", "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, source)
        check = transfer.imagenet_weights_available()
        parts = transfer.build_transfer_model()
        loaded = parts.base.get_weights()
        fresh = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(160, 160, 3))
        print(json.dumps({{
            "missing": bool(missing), "message": missing.message, "raised": raised,
            "path": str(missing.expected_path),
            "available": bool(check),
            "equal": all(np.array_equal(a, b) for a, b in zip(source.get_weights(), loaded)),
            "count": [len(source.get_weights()), len(loaded)],
            "fresh_differs": not all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), loaded)),
            "files": sorted(p.name for p in transfer.keras_cache_dir().iterdir()),
        }}))
    """, tmp_path)
    # Without the file: a clear message naming the file and the folder.
    assert result["missing"] is False
    assert result["path"] == str(tmp_path / "models" / MOBILENET_160)
    assert MOBILENET_160 in result["message"] and "$KERAS_HOME/models" in result["message"]
    assert result["raised"] == result["message"]
    # With it: loaded by Keras from the cache with sockets blocked, weights identical.
    assert result["available"] is True
    assert result["count"][0] == result["count"][1] > 100
    assert result["equal"] is True and result["fresh_differs"] is True
    assert result["files"] == [MOBILENET_160]  # nothing was downloaded beside it


@pytest.fixture(scope="module")
def small_parts():
    keras.utils.set_random_seed(1)
    return transfer.build_transfer_model(weights=None, image_size=96)


def images(n=8, size=96, seed=0):
    return np.random.RandomState(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def test_model_takes_raw_images_and_shares_the_head(small_parts):
    x = images(4)
    assert small_parts.model(x).shape == (4, 1)
    features = small_parts.features(x, training=False)
    assert features.shape == (4, 1280)
    np.testing.assert_allclose(
        small_parts.head(features, training=False), small_parts.model(x, training=False), rtol=1e-5)
    assert transfer.trainable_summary(small_parts.model)["trainable"] == 1281  # only the head


def test_cached_features_equal_running_the_base(small_parts, tmp_path):
    x, y = images(10), np.arange(10) % 2
    batches = [(x[:4], y[:4]), (x[4:], y[4:])]
    cached, labels = transfer.cached_features(small_parts.features, batches, tmp_path / "f.npz")
    prep = transfer.preprocess_function("MobileNetV2")
    direct = np.asarray(small_parts.base(prep(x.copy()), training=False)).mean(axis=(1, 2))
    assert cached.shape == (10, 1280) and labels.tolist() == y.tolist()
    np.testing.assert_allclose(cached, direct, rtol=1e-4, atol=1e-6 * np.abs(direct).max())
    assert np.abs(cached - cached.mean(axis=0)).max() > 0  # images differ, so do their features

    class Broken:
        def __call__(self, *args, **kwargs):
            raise AssertionError("features recomputed instead of read from the cache")

    again, _ = transfer.cached_features(Broken(), batches, tmp_path / "f.npz")
    np.testing.assert_array_equal(again, cached)


def test_head_trains_on_cached_features(small_parts):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(64, 1280)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    before = small_parts.head.get_weights()[0].copy()
    small_parts.head.fit(transfer.feature_dataset(x, y, batch_size=16, shuffle=True), epochs=1, verbose=0, shuffle=False)
    assert not np.array_equal(before, small_parts.head.get_weights()[0])


def _fine_tune_once(freeze_batchnorm: bool):
    keras.utils.set_random_seed(2)
    parts = transfer.build_transfer_model(weights=None, image_size=32)
    transfer.unfreeze_top(parts, n_layers=20, learning_rate=1e-3, freeze_batchnorm=freeze_batchnorm)
    stats = transfer.moving_statistics(parts.base)
    top_kernel = parts.base.get_layer("Conv_1").kernel.numpy().copy()
    parts.model.fit(images(8, size=32), np.array([0, 1] * 4), batch_size=8, epochs=1, verbose=0)
    after = transfer.moving_statistics(parts.base)
    moved = [not np.array_equal(a, b) for a, b in zip(stats, after)]
    trained = not np.array_equal(top_kernel, parts.base.get_layer("Conv_1").kernel.numpy())
    return parts, moved, trained


def test_fine_tuning_keeps_batchnorm_in_inference_mode():
    parts, moved, trained = _fine_tune_once(freeze_batchnorm=True)
    assert trained  # the unfrozen layers did learn
    assert len(moved) == 2 * len(transfer.batchnorm_layers(parts.base)) > 0
    assert not any(moved)  # ... but no moving mean or variance changed
    # The pitfall: trainable BatchNormalization layers switch to batch statistics during fit,
    # although the base was called with training=False (Keras 3 lets fit's training=True win).
    _, moved_pitfall, _ = _fine_tune_once(freeze_batchnorm=False)
    assert any(moved_pitfall[-8:])  # the unfrozen top ones drift
    assert not any(moved_pitfall[:8])  # the frozen bottom ones do not


def test_unfreeze_top_unfreezes_only_the_top(small_parts):
    transfer.unfreeze_top(small_parts, n_layers=10)
    layers = small_parts.base.layers
    assert not any(layer.trainable for layer in layers[:-10])
    assert any(layer.trainable for layer in layers[-10:])
    assert not any(layer.trainable for layer in transfer.batchnorm_layers(small_parts.base))
    assert small_parts.model.optimizer.learning_rate.numpy() == pytest.approx(1e-5)
    small_parts.base.trainable = False


def test_transfer_model_survives_save_and_load(small_parts, tmp_path):
    path = tmp_path / "t.keras"
    small_parts.model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    x = images(2)
    np.testing.assert_allclose(loaded(x, training=False), small_parts.model(x, training=False), rtol=1e-5)


def test_save_image_model_makes_the_checkpoint_take_images(small_parts, tmp_path):
    import warnings
    from types import SimpleNamespace

    (tmp_path / "run.json").write_text(json.dumps({"run": "r", "image_size": [1280], "params": 1281}))
    result = SimpleNamespace(model_path=tmp_path / "r.keras", log_dir=tmp_path)
    from utils.fit import save_image_model

    save_image_model(small_parts, result)
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["image_size"] == [96, 96] and summary["color_mode"] == "rgb"
    assert summary["params"] == small_parts.model.count_params() and summary["run"] == "r"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no optimizer mismatch on loading
        loaded = keras.models.load_model(result.model_path)
    assert loaded.input_shape == (None, 96, 96, 3) and loaded.output_shape == (None, 1)


@pytest.mark.parametrize("base, size", [("MobileNetV2", 96), ("MobileNetV2", 160), ("MobileNetV2", 224),
                                        ("MobileNetV2", 100), ("ResNet50", 224), ("EfficientNetB0", 224)])
def test_weights_table_is_what_keras_asks_for(monkeypatch, base, size):
    """IMAGENET_NO_TOP_WEIGHTS against Keras itself: its download function is replaced by one that
    records what the constructor asks for and stops (private Keras names: only in this test)."""
    from keras.src.utils import file_utils

    class Asked(Exception):
        pass

    def record(fname=None, origin=None, *args, **kwargs):
        raise Asked(fname or os.path.basename(origin), origin)

    monkeypatch.setattr(file_utils, "get_file", record)
    with pytest.raises(Asked) as asked:
        getattr(keras.applications, base)(include_top=False, weights="imagenet", input_shape=(size, size, 3))
    assert transfer.imagenet_weights_file(base, size) == asked.value.args
