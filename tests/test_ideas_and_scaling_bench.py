"""bench/ideas.py (one change at a time, on validation) and bench/scaling.py (time and memory per image)."""
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


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(script: str, *args, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CATSDOGS_HOME": str(home), "CATSDOGS_HEADLESS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)


def _table(stdout: str) -> list[list[str]]:
    rows = [line for line in stdout.splitlines() if line.startswith("|")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]


def test_mixup_mixes_each_image_with_its_partner_by_the_same_weight_as_its_label():
    import tensorflow as tf

    ideas = _module("ideas")
    images = np.stack([np.full((4, 4, 3), v, "float32") for v in (0.0, 100.0, 200.0, 255.0)])
    labels = np.array([0, 1, 1, 0], "int32")
    mixed, soft = next(iter(ideas.mixup_batches(tf.data.Dataset.from_tensors((images, labels)), 0.2, seed=0)))
    mixed, soft = mixed.numpy(), soft.numpy()
    partner = images[::-1]
    lam = soft[:, 1] - np.eye(2)[labels[::-1]][:, 1]  # P(dog) = lam*dog_i + (1-lam)*dog_partner
    for i in range(4):
        weight = (mixed[i, 0, 0, 0] - partner[i, 0, 0, 0]) / (images[i, 0, 0, 0] - partner[i, 0, 0, 0])
        expected = np.eye(2)[labels[i]] * weight + np.eye(2)[labels[::-1][i]] * (1 - weight)
        np.testing.assert_allclose(soft[i], expected, atol=1e-5)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-6)
    assert np.all((mixed >= 0) & (mixed <= 255)) and lam.shape == (4,)


def test_a_combination_carries_each_ideas_one_change_and_nothing_else():
    ideas = _module("ideas")
    both = ideas.idea("bf16+input_80")
    assert both.policy == "mixed_bfloat16" and both.overrides == {"image_size": (80, 80)}
    assert (both.mixup, both.label_smoothing, both.epochs_factor, both.jit_compile) == (0.0, 0.0, 1.0, False)
    assert both.early_stopping and both.crop_scale is None
    longer = ideas.idea("longer_cosine+crop")
    assert (longer.epochs_factor, longer.early_stopping, longer.crop_scale) == (1.4, False, (0.35, 1.0))
    assert ideas.IDEAS["epochs_x1.4"].early_stopping  # the earlier idea, measured with early stopping, stays so
    assert ideas.IDEAS["bf16"].overrides == {} and ideas.idea("bf16") is ideas.IDEAS["bf16"]


def test_hires_stem_doubles_the_input_and_keeps_every_later_layer_and_the_flops():
    import keras

    from utils.models.registry import build_model, count_flops, get_variant

    ideas = _module("ideas")
    overrides = ideas.resolved_overrides(ideas.IDEAS["hires_stem"], get_variant("deeper"))
    assert overrides == {"image_size": (128, 128), "stem_stride": 2}
    deeper, hires = build_model("deeper", compile=False), build_model("deeper", compile=False, **overrides)
    assert hires.input_shape == (None, 128, 128, 3)

    def conv_outputs(model):
        return [tuple(layer.output.shape) for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]

    assert conv_outputs(hires) == conv_outputs(deeper) and conv_outputs(hires)[0] == (None, 64, 64, 16)
    assert count_flops(hires) == count_flops(deeper) and hires.count_params() == deeper.count_params()
    assert ideas.resolved_overrides(ideas.IDEAS["input_80"], get_variant("deeper")) == {"image_size": (80, 80)}
    assert ideas.resolved_overrides(ideas.IDEAS["wide"], get_variant("larger_input")) == {"filters": (32, 64, 128, 256, 512)}
    # a variant that keeps its builder's default filters doubles those
    assert ideas.resolved_overrides(ideas.IDEAS["wide"], get_variant("baseline")) == {"filters": (64, 128, 256, 256)}


def test_the_budget_ideas_change_only_the_batch_size_or_the_input_side():
    from utils.models.registry import build_model, get_variant

    ideas = _module("ideas")
    larger = get_variant("larger_input")
    batched = get_variant("larger_input", **ideas.resolved_overrides(ideas.IDEAS["batch_128"], larger))
    assert batched.batch_size == 128 and batched == get_variant("larger_input", batch_size=128)
    assert (batched.learning_rate, batched.epochs, batched.image_size) == (larger.learning_rate, larger.epochs, (80, 80))
    smaller = ideas.resolved_overrides(ideas.IDEAS["input_72"], larger)
    assert smaller == {"image_size": (72, 72)}
    model = build_model("larger_input", compile=False, **smaller)
    assert model.input_shape == (None, 72, 72, 3) and model.count_params() == build_model("larger_input", compile=False).count_params()


def test_longer_cosine_alone_trains_without_early_stopping():
    from utils.models.registry import get_variant

    ideas = _module("ideas")
    variant = get_variant("larger_input")
    assert ideas.early_stopping(ideas.IDEAS["longer_cosine"], variant) == []
    for name in ("reference", "epochs_x1.4"):
        (stop,) = ideas.early_stopping(ideas.IDEAS[name], variant)
        assert (stop.patience, stop.restore_best_weights) == (variant.patience, variant.restore_best)


def test_progressive_resizing_switches_where_the_pixels_match_the_unchanged_schedule():
    ideas = _module("ideas")
    fractions = ideas.IDEAS["progressive"].progressive
    assert ideas.progressive_plan(80, 35, fractions) == (64, 96, 19)  # larger_input: 0.8x and 1.2x of 80
    for side, epochs in ((80, 35), (64, 35), (80, 49), (64, 10)):
        first, last, at_first = ideas.progressive_plan(side, epochs, fractions)
        assert first % 8 == 0 and last % 8 == 0 and first < side < last and 1 <= at_first < epochs
        pixels = lambda k: k * first ** 2 + (epochs - k) * last ** 2  # noqa: E731
        # the switch is the one epoch that brings the run's pixels closest to the unchanged schedule's
        assert abs(pixels(at_first) - epochs * side ** 2) == min(abs(pixels(k) - epochs * side ** 2)
                                                                  for k in range(1, epochs))
    assert ideas.progressive_plan(64, 35, fractions)[:2] == (48, 80)
    assert ideas.progressive_plan(80, 1, fractions) == (64, 96, 0)  # one epoch: the last side only
    assert ideas.progressive_plan(80, 2, fractions) == (64, 96, 1)


def test_random_resized_crops_cut_a_box_of_the_asked_area_and_only_while_training():
    import keras

    ideas = _module("ideas")
    rows, cols = np.meshgrid(np.arange(40, dtype="float32"), np.arange(40, dtype="float32"), indexing="ij")
    images = np.repeat(np.stack([rows, cols, rows + cols], -1)[None], 8, axis=0)  # each pixel says where it is
    layer = ideas.random_resized_crop_layer((0.35, 1.0), seed=1)
    assert np.array_equal(np.asarray(layer(images, training=False)), images)
    cropped = np.asarray(layer(images, training=True))
    assert cropped.shape == images.shape
    boxes = np.asarray(layer.boxes(10_000))
    heights, widths = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert boxes.min() >= 0 and boxes.max() <= 1 + 1e-6
    assert (heights * widths).min() >= 0.35 - 1e-3 and (heights * widths).max() <= 1 + 1e-6
    ratios = widths / heights  # a side cut to the image's keeps the ratio within 3:4 to 4:3 too
    assert ratios.min() >= 0.75 - 1e-3 and ratios.max() <= 4 / 3 + 1e-3
    # boxes sit anywhere: a centred box of at least 35% of the area starts at most 0.245 from an edge
    assert boxes[:, 0].max() > 0.3 and boxes[:, 1].max() > 0.3
    # a crop is the box resized: its corners are the box's corners, in row and column coordinates
    first, last = cropped[:, 0, 0, :2], cropped[:, -1, -1, :2]
    spans = last - first
    assert np.all(spans >= np.sqrt(0.35 * 3 / 4) * 39 - 0.5) and len({tuple(f) for f in first.round(2)}) == 8
    # the whole image at its own ratio is the image
    whole = ideas.random_resized_crop_layer((1.0, 1.0), ratio=(1.0, 1.0), seed=1)
    np.testing.assert_allclose(np.asarray(whole(images, training=True)), images, atol=1e-3)
    model = ideas.with_crops(keras.Sequential([keras.Input((40, 40, 3)), keras.layers.GlobalAveragePooling2D()]),
                             (0.35, 1.0), seed=0)
    assert model.input_shape == (None, 40, 40, 3) and model.layers[1].name == "random_resized_crop"


def test_a_network_tested_at_another_side_keeps_its_weights_and_its_table_gains_two_columns_per_side():
    from utils.models.registry import build_model

    ideas = _module("ideas")
    network = build_model("deeper", compile=False)
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    larger = ideas.at_side(network, "deeper", {}, 96)
    assert larger.input_shape == (None, 96, 96, 3) and larger.count_params() == network.count_params()
    for a, b in zip(network.get_weights(), larger.get_weights()):
        np.testing.assert_array_equal(a, b)
    same = ideas.at_side(network, "deeper", {}, 64)  # at its own side the copy is the network
    np.testing.assert_allclose(np.asarray(same(images, training=False)), np.asarray(network(images, training=False)),
                               atol=1e-6)
    big = np.repeat(np.repeat(images, 3, axis=1), 3, axis=2)[:, :96, :96]
    p = np.asarray(larger(big, training=False))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    from utils.models.registry import get_variant

    assert ideas.smallest_test_side(get_variant("deeper")) == 32  # five blocks halve the side five times
    assert ideas.smallest_test_side(get_variant("deeper", stem_stride=2)) == 64
    assert ideas.smallest_test_side(get_variant("baseline")) is None  # Flatten: one input size only
    outcomes = [ideas.Outcome("reference", "the variant unchanged", "35 of 35", 0.875, 0.31, 100.0,
                              at_sides={96: (0.88, 0.30)}),
                ideas.Outcome("crop", "crops", "35 of 35", 0.9, 0.25, 110.0, at_sides={96: (0.91, 0.24)})]
    rows = _table(ideas.markdown(outcomes, (96,)))
    assert rows[1] == ["`crop`", "crops", "35 of 35", "0.9000", "0.2500", "0.9100", "0.2400", "1.10"]
    assert "val accuracy at 96 | val log loss at 96" in ideas.markdown(outcomes, (96,)).splitlines()[0]


def test_the_residual_network_adds_each_two_convolution_blocks_input_and_keeps_every_other_layer(monkeypatch):
    import keras

    import utils.models.cost
    from utils.models.registry import build_model, get_variant

    ideas = _module("ideas")
    monkeypatch.setattr(utils.models.cost, "bf16_supported", lambda: True)  # the variant's policy on any CPU
    plain = build_model("larger_input", compile=False)
    residual = build_model("larger_input", compile=False, **ideas.IDEAS["residual"].overrides)
    plain_layers = {layer.name: layer for layer in plain.layers}
    names = {layer.name for layer in residual.layers}
    assert set(plain_layers) <= names  # every layer of the plain network is there...
    # ...and deeper's blocks 2-4 have two convolutions, each widening: a projection shortcut and an add each
    assert names - set(plain_layers) == {f"block{b}_{part}" for b in (2, 3, 4) for part in ("shortcut", "shortcut_bn", "add")}
    for layer in residual.layers:
        if layer.name in plain_layers and layer.name != "augmentation":  # the same settings, the same weights
            assert layer.get_config() == plain_layers[layer.name].get_config(), layer.name
            assert [w.shape for w in layer.weights] == [w.shape for w in plain_layers[layer.name].weights], layer.name
    assert [type(a) for a in residual.get_layer("augmentation").layers] == \
        [type(a) for a in plain.get_layer("augmentation").layers]
    assert residual.get_layer("block2_conv1").compute_dtype == "bfloat16" and residual.output.dtype == "float32"
    for b in (2, 3, 4):
        add = residual.get_layer(f"block{b}_add")
        assert add.input[0] is residual.get_layer(f"block{b}_bn2").output
        assert add.input[1] is residual.get_layer(f"block{b}_shortcut_bn").output
        assert residual.get_layer(f"block{b}_shortcut").input is residual.get_layer(f"block{b - 1}_pool").output
    assert residual.get_layer("block4_relu2").input is residual.get_layer("block4_add").output
    # with block 2's convolutions silenced, what leaves the block is its input, through the shortcut
    for name in ("block2_conv1", "block2_conv2"):
        layer = residual.get_layer(name)
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    images = np.random.default_rng(0).uniform(0, 255, (2, 80, 80, 3)).astype("float32")
    block_out = keras.Model(residual.input, residual.get_layer("block2_relu2").output)(images, training=False)
    shortcut = keras.Model(residual.input, residual.get_layer("block2_shortcut_bn").output)(images, training=False)
    np.testing.assert_allclose(np.asarray(block_out, "float32"), np.maximum(np.asarray(shortcut, "float32"), 0),
                               atol=1e-6)
    assert np.abs(np.asarray(block_out, "float32")).max() > 0
    p = np.asarray(residual(images, training=False))
    assert p.shape == (2, 2) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    copy = ideas.at_side(residual, "larger_input", {"residual": True}, 96)
    assert "block3_add" in {layer.name for layer in copy.layers} and copy.input_shape == (None, 96, 96, 3)
    # a first block of two convolutions behind a stride-2 stem: the shortcut strides too, at an odd side as well
    stem = build_model("deeper", compile=False, image_size=(81, 81), stem_stride=2, convs_per_block=(2, 2, 2, 2, 1),
                       residual=True)
    assert stem.get_layer("block1_shortcut").strides == (2, 2)
    assert stem.get_layer("block1_add").output.shape[1:3] == (41, 41)
    # one convolution per block: the builder refuses rather than build the plain network under this name
    assert "one convolution per block" in ideas.cannot_add_shortcuts(get_variant("batchnorm_gap"))
    with pytest.raises(ValueError, match="every block here has one"):
        build_model("batchnorm_gap", compile=False, residual=True)
    assert ideas.cannot_add_shortcuts(get_variant("deeper")) is None
    from utils.models.builders import can_add_shortcuts

    assert can_add_shortcuts((16, 32), (1, 2)) and not can_add_shortcuts((16, 32), 1)


def test_an_idea_that_cannot_change_the_variant_is_refused_with_what_to_do():
    from utils.models.registry import get_variant

    ideas = _module("ideas")
    for name, variant, words in (("hires_stem", "baseline", ("stem_stride", "seed_cnn", "--variant")),
                                 ("wide", "tf_tutorial", ("filters", "--variant")),
                                 ("residual", "batchnorm_gap", ("one convolution per block",)),
                                 ("residual", "baseline", ("residual", "seed_cnn")),
                                 ("swa+ema", "deeper", ("apart",)),
                                 ("progressive", "baseline", ("global average pooling", "flattens", "--variant")),
                                 ("progressive", "tf_tutorial", ("global average pooling", "--variant")),
                                 ("progressive+ema", "larger_input", ("apart",)),
                                 ("progressive+swa", "deeper", ("apart",))):
        reason = ideas.cannot_apply(ideas.idea(name), get_variant(variant))
        assert reason and all(word in reason for word in words), (name, reason)
    for name in ideas.IDEAS:
        assert ideas.cannot_apply(ideas.idea(name), get_variant("larger_input")) is None, name
    assert ideas.cannot_apply(ideas.idea("label_smoothing"), get_variant("baseline")) is None


def test_weight_averaging_puts_the_mean_of_the_last_epochs_weights_in_the_model():
    import keras

    ideas = _module("ideas")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    average = ideas.weight_average_callback(first_epoch=2)
    average.set_model(model)
    seen = []
    for epoch in range(5):
        weights = [np.full(w.shape, float(epoch + 1), "float32") for w in model.get_weights()]
        model.set_weights(weights)
        seen.append(weights)
        average.on_epoch_end(epoch)
    average.on_train_end()
    assert average.averaged == 3
    for w in model.get_weights():
        np.testing.assert_allclose(w, (3 + 4 + 5) / 3)
    untouched = ideas.weight_average_callback(first_epoch=10)  # stopped before averaging began: weights stay
    untouched.set_model(model)
    before = model.get_weights()
    untouched.on_epoch_end(0)
    untouched.on_train_end()
    assert untouched.averaged == 0 and all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_batch_normalisation_statistics_are_recomputed_as_the_mean_over_the_batches():
    import keras
    import tensorflow as tf

    ideas = _module("ideas")
    norm = keras.layers.BatchNormalization(momentum=0.9)
    model = keras.Sequential([keras.Input((3,)), norm])
    batches = [np.random.default_rng(seed).normal(seed, 1 + seed, (16, 3)).astype("float32") for seed in range(4)]
    dataset = tf.data.Dataset.from_tensor_slices((np.concatenate(batches), np.zeros(64, "int32"))).batch(16)
    assert ideas.recompute_batchnorm_statistics(model, dataset) == 4
    np.testing.assert_allclose(np.asarray(norm.moving_mean), np.mean([b.mean(axis=0) for b in batches], axis=0),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(norm.moving_variance), np.mean([b.var(axis=0) for b in batches], axis=0),
                               rtol=1e-4)
    assert norm.momentum == 0.9  # the layer's own momentum comes back


@pytest.mark.slow
def test_ideas_prints_one_row_per_idea_with_the_reference_first(manifest, tmp_path):
    result = _run("ideas.py", "--profile", "smoke", "label_smoothing", "crop", "residual", "swa", "progressive+crop",
                  "--test-sides", "72", home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _table(result.stdout)
    assert [r[0] for r in rows] == ["`reference`", "`label_smoothing`", "`crop`", "`residual`", "`swa`",
                                    "`progressive+crop`"]
    # smoke's one epoch leaves no room for a switch: deeper's 64 becomes 80 (1.2x) for that epoch and the score
    assert "1 epoch at 80x80; scored at 80x80" in result.stdout
    # smoke's one epoch is the last 40% of one; then the averaged weights get their own statistics
    assert re.search(r"weights of 1 epoch averaged, batch normalisation's statistics recomputed on [1-9]\d* batches",
                     result.stdout)
    assert rows[0][-1] == "1.00" and all(0 <= float(r[3]) <= 1 and 0 <= float(r[5]) <= 1 for r in rows)
    assert all(len(r) == 8 for r in rows) and "val accuracy at 72" in result.stdout
    assert "validation split" in result.stdout and "Machine:" in result.stdout


def test_ideas_scores_on_the_evaluation_set_only_when_asked_and_checks_the_archive_first(manifest, tmp_path):
    result = _run("ideas.py", "--profile", "smoke", "progressive", "--eval", "--eval-limit", "20", home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _table(result.stdout)
    assert [r[0] for r in rows] == ["`reference`", "`progressive`"] and all(len(r) == 8 for r in rows)
    assert "| time / reference's | eval accuracy | eval log loss |" in result.stdout
    assert all(0 <= float(r[6]) <= 1 and 0 < float(r[7]) < 5 for r in rows)
    assert "Evaluation set: 20 images from eval.zip, measuring only" in result.stdout
    # another training seed, the same split: the reference trains to other scores
    reseeded = _run("ideas.py", "--profile", "smoke", "reference", "--seed", "7", home=tmp_path)
    assert reseeded.returncode == 0, reseeded.stderr[-3000:]
    assert "training seed 7, validation split (60 images" in reseeded.stdout
    assert _table(reseeded.stdout)[0][3:5] != rows[0][3:5]
    for args, message in (([str(tmp_path / "no-eval.zip")], "No evaluation set at"),
                          (["--eval-limit", "1"], "--eval-limit must be at least 2")):
        bad = _run("ideas.py", "--profile", "smoke", "progressive", "--eval", *args, home=tmp_path)
        errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
        assert bad.returncode == 2 and len(errors) == 1 and message in errors[0], bad.stderr[-2000:]
        assert "Traceback" not in bad.stderr and "== reference" not in bad.stdout  # refused before any training
    too_many = _run("ideas.py", "--profile", "smoke", "--train-images", "100000", home=tmp_path)
    errors = [line for line in too_many.stderr.splitlines() if line.startswith("error:")]
    assert too_many.returncode == 2 and len(errors) == 1 and "Ask for at most" in errors[0], too_many.stderr[-2000:]
    assert "Traceback" not in too_many.stderr and "== reference" not in too_many.stdout


def test_a_learning_curve_keeps_half_of_each_class_nested_and_every_other_split_whole(manifest):
    ideas = _module("ideas")
    from accuracy import BenchError

    def train(frame):
        return frame[frame["split"] == "train"]

    smaller, larger, reseeded = (ideas.fewer_training_images(manifest, n, seed) for n, seed in ((21, 42), (60, 42), (60, 7)))
    assert train(smaller)["label"].value_counts().to_dict() == {0: 10, 1: 11}
    assert train(larger)["label"].value_counts().to_dict() == {0: 30, 1: 30}
    assert set(train(smaller)["filepath"]) < set(train(larger)["filepath"])  # nested: a smaller N keeps a subset
    assert set(train(reseeded)["filepath"]) != set(train(larger)["filepath"])  # the seed chooses which
    for frame in (smaller, larger):
        rest = frame[frame["split"] != "train"]
        assert rest.equals(manifest[manifest["split"] != "train"])
    whole = int(2 * train(manifest)["label"].value_counts().min())
    assert len(train(ideas.fewer_training_images(manifest, whole, 42))) == whole
    with pytest.raises(BenchError, match=f"Ask for at most {whole}"):
        ideas.fewer_training_images(manifest, whole + 2, 42)
    one_cat_fewer = manifest.drop(train(manifest).index[train(manifest)["label"] == 0][:1])
    most = 2 * int(train(one_cat_fewer)["label"].value_counts().min()) + 1  # an odd N gives the dogs the extra image
    assert len(train(ideas.fewer_training_images(one_cat_fewer, most, 42))) == most
    with pytest.raises(BenchError, match=f"Ask for at most {most}\\."):
        ideas.fewer_training_images(one_cat_fewer, most + 1, 42)


def test_the_learning_curves_images_stay_the_same_whatever_the_training_seed(manifest, monkeypatch):
    import argparse

    ideas = _module("ideas")
    seen = []
    monkeypatch.setattr(ideas, "report", lambda args, variant, frame, profile, eval_set: seen.append((frame, profile)))
    for seed in (None, 7):
        args = argparse.Namespace(profile="smoke", variant="deeper", train_images=40, seed=seed, eval=None)
        assert ideas.measured(args) == 0
    (first, profile), (second, reseeded) = seen
    assert profile.seed != 7 and reseeded.seed == 7  # the second run trains from another seed...
    kept = [set(frame.loc[frame["split"] == "train", "filepath"]) for frame in (first, second)]
    assert len(kept[0]) == 40 and kept[0] == kept[1]  # ...on the same 40 images


@pytest.mark.slow
def test_ideas_trains_on_the_asked_number_of_training_images(manifest, tmp_path):
    result = _run("ideas.py", "--profile", "smoke", "reference", "--train-images", "40", home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Training split: 40 of its images only (--train-images): 20 cats, 20 dogs." in result.stdout
    assert [r[0] for r in _table(result.stdout)] == ["`reference`"]


def test_ideas_lists_its_ideas_and_refuses_an_unknown_one(tmp_path):
    listed = _run("ideas.py", "--list", home=tmp_path)
    ideas = _module("ideas")
    assert listed.returncode == 0 and [line.split()[0] for line in listed.stdout.splitlines()] == list(ideas.IDEAS)
    for args, word in ((["no_such_idea"], "no_such_idea"), (["reference", "--test-sides", "16"], "from 32 to 512"),
                       (["hires_stem", "--test-sides", "48"], "from 64 to 512"),
                       (["label_smoothing", "--variant", "baseline", "--test-sides", "64"], "global average pooling"),
                       (["residual", "--variant", "baseline"], "seed_cnn"),
                       (["reference", "--train-images", "1"], "at least 2"),
                       (["--variant", "baseline"], "hires_stem")):  # no ideas named: every idea, and one can't
        bad = _run("ideas.py", *args, home=tmp_path)
        errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(errors) == 1 and word in errors[0]


def test_fit_line_recovers_a_line():
    scaling = _module("scaling")
    assert scaling.fit_line([1, 2, 3], [5, 7, 9]) == pytest.approx((3.0, 2.0))
    assert scaling.fit_line([1, 2, 4], [2, 4, 8], through_zero=True) == pytest.approx((0.0, 2.0))


@pytest.mark.slow
def test_scaling_measures_each_size_in_its_own_process(shared_data, tmp_path):
    result = _run("scaling.py", "--sizes", "64", "128", home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _table(result.stdout)
    assert [r[0] for r in rows] == ["64", "128"]
    assert all(r[4].endswith(" MB") and float(r[4][:-3].replace(",", "")) > 0 for r in rows)
    assert "Extrapolated to the full profile's 22,500 training images" in result.stdout
    assert not list(tmp_path.rglob("*.jpg"))  # the images went to a private temporary folder, now removed


@pytest.mark.parametrize("args, message", [
    (["--sizes", "1000"], "at least two --sizes"),
    (["--variant", "no_such_variant"], "unknown variant 'no_such_variant'"),
])
def test_scaling_bad_inputs_get_one_clear_message(args, message, tmp_path):
    result = _run("scaling.py", *args, home=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(errors) == 1 and message in errors[0]


def test_mixup_draws_new_weights_for_every_batch_and_every_epoch():
    import tensorflow as tf

    ideas = _module("ideas")
    images = np.stack([np.full((2, 2, 3), v, "float32") for v in (0.0, 255.0)])
    labels = np.array([0, 1], "int32")  # every batch has the same labels: the weights must still differ
    # Beta(1, 1) is uniform: six draws from it are all different unless the seeds repeat
    mixed = ideas.mixup_batches(tf.data.Dataset.from_tensors((images, labels)).repeat(3), 1.0, seed=0)
    epochs = [[float(soft[0, 1]) for _, soft in mixed] for _ in range(2)]
    weights = epochs[0] + epochs[1]
    assert len(set(weights)) == len(weights) == 6, weights
