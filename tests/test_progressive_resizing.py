"""Progressive resizing: one network trained at two input sizes in one run (utils.fit, ``progressive``)."""
from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from utils.config import get_profile
from utils.fit import fit_in_phases, merged_history
from utils.fit.variants import check_progressive, progressive_phases
from utils.models.registry import VARIANTS, get_variant


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    return tmp_path


class Side(keras.layers.Layer):  # keeps the side of the last training batch it was given
    def build(self, input_shape):
        self.side = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False)

    def call(self, x, training=None):
        if training:
            self.side.assign(tf.shape(x)[1])
        return x


def _any_side_model():
    inputs = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(Side(name="side")(inputs))
    outputs = keras.layers.Dense(2, activation="softmax")(pooled)
    built = keras.Model(inputs, outputs)
    built.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    return built


def _data(side):
    images = tf.random.uniform((8, side, side, 3), seed=1)
    return tf.data.Dataset.from_tensor_slices((images, tf.constant([0, 1] * 4))).batch(4)


class Sides(keras.callbacks.Callback):  # the side each epoch trained at, and where to stop
    def __init__(self, stop_after=None):
        super().__init__()
        self.seen, self.stop_after = [], stop_after

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(int(self.model.get_layer("side").side.numpy()))
        if self.stop_after is not None and len(self.seen) >= self.stop_after:
            self.model.stop_training = True


def _epochs(histories):
    return [len(h.epoch) if h is not None else 0 for h in histories]


def test_training_in_phases_carries_one_optimizer_across_input_sides_and_stops_with_early_stopping(tmp_path):
    net, sides = _any_side_model(), Sides()
    csv = keras.callbacks.CSVLogger(str(tmp_path / "history.csv"))
    histories = fit_in_phases(net, [(_data(8), _data(8), 1), (_data(16), _data(16), 3)], callbacks=[sides, csv])
    assert _epochs(histories) == [1, 2] and int(net.optimizer.iterations) == 3 * 2  # 2 batches an epoch, one optimizer
    assert sides.seen == [8, 16, 16]
    # the CSV file and the merged history hold every epoch of both phases, in order
    logged = pd.read_csv(tmp_path / "history.csv")
    assert list(logged["epoch"]) == [0, 1, 2]
    merged = merged_history(histories)
    assert set(merged) == {"loss", "val_loss"} and len(merged["loss"]) == 3
    np.testing.assert_allclose(logged["loss"], merged["loss"], rtol=1e-6)

    net, sides = _any_side_model(), Sides(stop_after=1)
    histories = fit_in_phases(net, [(_data(8), _data(8), 2), (_data(16), _data(16), 3)], callbacks=[sides])
    assert _epochs(histories) == [1, 0] and sides.seen == [8]  # stopped early in the first phase: the second never ran
    assert _epochs(fit_in_phases(_any_side_model(), [(_data(8), _data(8), 0), (_data(16), _data(16), 1)],
                                 callbacks=[])) == [0, 1]
    assert merged_history([None, None]) == {}


def test_the_registered_variant_switches_sizes_where_the_pixels_match_80x80_throughout():
    variant = VARIANTS["progressive"]
    larger_input = VARIANTS["larger_input"]
    # the same recipe as larger_input but the input sizes
    same = {f.name for f in dataclasses.fields(variant)} - {"name", "description", "image_size", "progressive"}
    assert all(getattr(variant, f) == getattr(larger_input, f) for f in same)
    (first, at_first), (last, epochs) = progressive_phases(variant, 35)
    assert (first.image_size, at_first, last.image_size, epochs) == ((64, 64), 19, (96, 96), 35)
    assert first.progressive is None and last is variant
    pixels = at_first * 64 ** 2 + (epochs - at_first) * 96 ** 2
    assert abs(pixels / (35 * 80 ** 2) - 1) < 0.02  # about the pixels, so the FLOPs, of 35 epochs at 80x80
    assert [until for _, until in progressive_phases(variant, 2)] == [1, 2]
    assert [until for _, until in progressive_phases(variant, 1)] == [0, 1]  # one epoch: the last size only
    assert progressive_phases(larger_input, 35) == [(larger_input, 35)]


@pytest.mark.parametrize("overrides, problem", [
    ({"restore_best": True}, "restore_best=False"),
    ({"image_size": (96, 80)}, "must be square"),
    ({"progressive": (64, 1.5)}, "a share between 0 and 1"),
])
def test_a_variant_that_cannot_change_size_is_refused_with_what_to_change(overrides, problem):
    check_progressive(VARIANTS["progressive"])  # the registered one passes
    with pytest.raises(ValueError, match=problem):
        check_progressive(get_variant("progressive", **overrides))
    with pytest.raises(ValueError, match="global average pooling"):
        check_progressive(dataclasses.replace(VARIANTS["baseline"], progressive=(32, 0.5), restore_best=False))


def test_train_variant_trains_at_both_sizes_in_one_run_and_saves_a_model_for_the_last(home, manifest):
    from utils.data.pipeline import make_dataset
    from utils.fit import train_variant
    from utils.predict import load_model

    class Fits(keras.callbacks.Callback):  # how many calls of fit, and the epochs each saw
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_train_begin(self, logs=None):
            self.epochs.append([])

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs[-1].append(epoch)

    fits = Fits()
    profile = dataclasses.replace(get_profile("smoke"), max_epochs=None)  # smoke's one epoch would skip the first size
    result = train_variant("progressive", frame=manifest, profile=profile, epochs=3, callbacks=[fits])
    assert fits.epochs == [[0, 1], [2]]  # round(0.55 x 3) = 2 epochs at 64x64, then one at 96x96
    assert list(pd.read_csv(result.log_dir / "history.csv")["epoch"]) == [0, 1, 2] and len(result.history) == 3
    summary = json.loads((result.log_dir / "run.json").read_text())
    assert summary["image_size"] == [96, 96] and summary["epochs_run"] == 3
    assert summary["hparams"]["progressive"] == "64px for 55% of the epochs"

    reloaded = load_model(result.model_path)  # what the prediction command reads: a model for 96x96 inputs
    assert reloaded.input_shape == (None, 96, 96, 3)
    val_ds = make_dataset(manifest, "validation", image_size=(96, 96), batch_size=64)
    loss = keras.models.load_model(result.model_path).evaluate(val_ds, verbose=0)[0]  # compiled, as saved
    assert loss == pytest.approx(result.val_loss, rel=1e-3)  # the run was scored at its last size, with these weights
