"""The model registry (utils.models.registry): every variant builds, has the documented shapes and trains."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from utils.models.peer_recipes import PEER_BUILDERS
from utils.models.registry import DEFAULT_VARIANT, VARIANTS, build_model, count_flops, get_variant, variant_table
from utils.predict import dog_probability

from tests.layer_descriptions import described

# The course's variants; the published recipes keep their own heads (tests/test_peer_recipes.py).
COURSE_VARIANTS = [name for name, v in VARIANTS.items() if v.options["builder"] not in PEER_BUILDERS]


@pytest.mark.parametrize("name", COURSE_VARIANTS)
def test_every_variant_builds_with_the_documented_shapes(name):
    variant = VARIANTS[name]
    model = build_model(name)
    channels = 1 if variant.color_mode == "grayscale" else 3
    assert model.input_shape == (None, *variant.image_size, channels)
    assert model.output_shape == (None, 2)
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.compiled and model.loss == "sparse_categorical_crossentropy"
    assert variant.description and variant.epochs >= 1 and variant.batch_size >= 1


def test_the_default_variant_is_registered():
    assert DEFAULT_VARIANT in VARIANTS and DEFAULT_VARIANT != "baseline"


def test_baseline_matches_the_seed_layer_by_layer():
    variant = VARIANTS["baseline"]
    assert (variant.image_size, variant.color_mode, variant.batch_size, variant.epochs) == ((50, 50), "grayscale", 200, 10)
    model = build_model("baseline")
    # The seed fed pixels already divided by 255; here the model rescales them itself.
    assert described(model) == [
        "Rescaling(0.00392)",
        "Conv2D(32,3,same,relu)", "MaxPooling2D(2)", "Conv2D(64,3,same,relu)", "MaxPooling2D(2)",
        "Conv2D(128,3,same,relu)", "MaxPooling2D(2)", "Conv2D(128,3,same,relu)", "MaxPooling2D(2)",
        "Flatten", "Dense(128,relu)", "Dropout(0.2)", "Dense(2,softmax)",
    ]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    # 320 + 18,496 + 73,856 + 147,584 (convolutions) + 147,584 + 258 (dense), as the seed printed.
    assert model.count_params() == 388_098


def test_flops_of_the_baseline_match_a_hand_count():
    model = build_model("baseline", compile=False)
    by_hand = (2 * 50 * 50 * 32 * 9 * 1 + 2 * 25 * 25 * 64 * 9 * 32 + 2 * 12 * 12 * 128 * 9 * 64
               + 2 * 6 * 6 * 128 * 9 * 128 + 2 * 1152 * 128 + 2 * 128 * 2)
    assert count_flops(model) == by_hand == 56_625_920


def test_variant_table_lists_every_variant():
    table = variant_table()
    assert list(table.index) == list(VARIANTS)
    assert (table["params"] > 0).all() and (table["MFLOPs/image"] > 0).all()


def test_overrides_change_the_input_and_unknown_names_are_refused():
    model = build_model("batchnorm_gap", image_size=(32, 32), compile=False)
    assert model.input_shape == (None, 32, 32, 3)
    assert get_variant("baseline", epochs=3).epochs == 3
    with pytest.raises(KeyError, match="Registered variants: baseline"):
        build_model("no_such_variant")


def test_convs_per_block_sets_each_block_and_must_match_the_blocks():
    from utils.models.registry import build_gap_cnn

    def conv_resolutions(model):
        return [layer.output.shape[1] for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]

    one_then_two = build_gap_cnn((32, 32, 3), filters=(8, 16, 32), convs_per_block=(1, 2, 2), augment=False)
    assert conv_resolutions(one_then_two) == [32, 16, 16, 8, 8]
    assert conv_resolutions(build_gap_cnn((32, 32, 3), filters=(8, 16), convs_per_block=2, augment=False)) == [32, 32, 16, 16]
    with pytest.raises(ValueError, match="3 entries for 2 blocks"):
        build_gap_cnn((32, 32, 3), filters=(8, 16), convs_per_block=(1, 2, 2))


def test_dog_probability_reads_either_head():
    images = np.random.default_rng(0).uniform(0, 255, (5, 4, 4, 1)).astype("float32")
    inputs = keras.Input((4, 4, 1))
    flat = keras.layers.Flatten()(inputs)
    softmax = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(flat))
    sigmoid = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(flat))
    p_soft = dog_probability(softmax, images)
    np.testing.assert_allclose(p_soft, softmax.predict(images, verbose=0)[:, 1], rtol=1e-6)
    p_sig = dog_probability(sigmoid, images)
    assert p_sig.shape == (5,)
    np.testing.assert_allclose(p_sig, sigmoid.predict(images, verbose=0)[:, 0], rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_one_step_on_real_images(name, manifest):
    from utils.data.pipeline import make_dataset

    variant = VARIANTS[name]
    keras.utils.set_random_seed(0)
    model = build_model(name)
    batch = make_dataset(manifest, "train", image_size=variant.image_size, color_mode=variant.color_mode,
                         batch_size=4).take(1)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(batch, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_variant_changes_lists_every_setting_a_step_changes():
    from utils.models.registry import variant_changes

    assert variant_changes("color_larger", "augmented") == ["epochs: 8 -> 12", "augment: False -> True"]
    changes = variant_changes("augmented", "batchnorm_gap")
    assert "builder: seed_cnn -> gap_cnn" in changes and "learning_rate: 0.001 -> 0.0003" in changes
    assert not any(c.startswith(("dense:", "bn_momentum:")) for c in changes)  # part of the builder's change
    assert variant_changes("deeper", "deeper") == []


def _dtypes(model):
    conv, out = model.get_layer("block2_conv1"), model.get_layer("probabilities")
    return conv.compute_dtype, conv.variable_dtype, out.compute_dtype


def test_larger_input_computes_in_bfloat16_where_the_cpu_has_it_and_float32_elsewhere(monkeypatch):
    from utils.models import cost
    from utils.models.registry import compute_policy

    monkeypatch.setattr(cost, "bf16_supported", lambda: True)
    assert compute_policy(VARIANTS["larger_input"]) == "mixed_bfloat16"
    assert _dtypes(build_model("larger_input")) == ("bfloat16", "float32", "float32")
    # only the variant that asks for it; and the global policy is back to float32 for later models
    assert _dtypes(build_model("deeper")) == ("float32", "float32", "float32")
    assert keras.mixed_precision.global_policy().name == "float32"
    monkeypatch.setattr(cost, "bf16_supported", lambda: False)
    assert compute_policy(VARIANTS["larger_input"]) == "float32"
    assert _dtypes(build_model("larger_input")) == ("float32", "float32", "float32")


def test_larger_input_is_deeper_at_80_pixels_and_records_its_precision(monkeypatch):
    from utils.fit import variant_hparams
    from utils.models import cost
    from utils.models.registry import variant_changes

    assert variant_changes("deeper", "larger_input") == ["image_size: (64, 64) -> (80, 80)",
                                                         "mixed_precision: False -> True"]
    ratio = count_flops(build_model("larger_input", compile=False)) / count_flops(build_model("deeper", compile=False))
    assert ratio == pytest.approx((80 / 64) ** 2, rel=0.01)
    monkeypatch.setattr(cost, "bf16_supported", lambda: True)
    assert variant_hparams(VARIANTS["larger_input"], 35)["precision"] == "mixed_bfloat16"
    assert variant_hparams(VARIANTS["deeper"], 35)["precision"] == "float32"


def test_a_bfloat16_model_gives_float32_probabilities_that_sum_to_one(monkeypatch):
    from utils.models import cost

    monkeypatch.setattr(cost, "bf16_supported", lambda: True)
    model = build_model("larger_input", compile=False)
    images = np.random.default_rng(0).uniform(0, 255, (4, 80, 80, 3)).astype("float32")
    p = model.predict(images, verbose=0)
    assert p.dtype == np.float32 and np.allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert np.all((dog_probability(model, images) >= 0) & (dog_probability(model, images) <= 1))


def test_in_float32_copies_a_bfloat16_model_with_its_weights_and_the_loader_uses_it_without_bf16(monkeypatch, tmp_path):
    from utils.models import cost
    from utils.models.registry import in_float32
    from utils.predict import load_model

    monkeypatch.setattr(cost, "bf16_supported", lambda: True)
    model = build_model("larger_input", compile=False)
    copy = in_float32(model)
    assert _dtypes(copy) == ("float32", "float32", "float32") and _dtypes(model)[0] == "bfloat16"
    assert copy.get_layer("augmentation").layers[0].compute_dtype == "float32"
    images = np.random.default_rng(0).uniform(0, 255, (4, 80, 80, 3)).astype("float32")
    np.testing.assert_allclose(copy.predict(images, verbose=0), model.predict(images, verbose=0), atol=0.02)
    deeper = build_model("deeper", compile=False)
    assert in_float32(deeper) is deeper
    model.save(tmp_path / "bf16.keras")
    assert _dtypes(load_model(tmp_path / "bf16.keras"))[0] == "bfloat16"  # a CPU with bfloat16 keeps it
    monkeypatch.setattr(cost, "bf16_supported", lambda: False)
    assert _dtypes(load_model(tmp_path / "bf16.keras")) == ("float32", "float32", "float32")


def test_load_run_opens_a_bfloat16_checkpoint_as_float32_on_a_cpu_without_bfloat16(monkeypatch, tmp_path):
    """A run trained in bfloat16 and read back by load_run (notebook 04 reuses runs) on a CPU without
    bfloat16 hardware computes in float32 with the same weights; with bfloat16 it stays as saved."""
    import pandas as pd

    from utils.models import cost
    from utils.runs import RunRecord, load_run

    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    monkeypatch.setattr(cost, "bf16_supported", lambda: True)
    model = build_model("larger_input", compile=False)
    (tmp_path / "models").mkdir()
    model.save(tmp_path / "models" / "bf16-1.keras")
    log_dir = tmp_path / "logs" / "bf16-1"
    log_dir.mkdir(parents=True)
    RunRecord(run="bf16-1", variant="larger_input", best_val_loss=0.3, best_val_accuracy=0.9,
              model_path="models/bf16-1.keras").write(log_dir)
    pd.DataFrame({"epoch": [0], "loss": [0.5]}).to_csv(log_dir / "history.csv", index=False)
    assert _dtypes(load_run("bf16-1").model)[0] == "bfloat16"
    monkeypatch.setattr(cost, "bf16_supported", lambda: False)
    opened = load_run("bf16-1").model
    assert _dtypes(opened) == ("float32", "float32", "float32")
    for a, b in zip(opened.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_global_policy_set_by_a_script_still_reaches_variants_that_do_not_ask_for_one(monkeypatch):
    """bench/ideas.py and bench/training.py set mixed_bfloat16 globally and build deeper (or larger_input
    with mixed_precision=False): build_model must not force float32 on them."""
    from utils.models import cost
    from utils.models.registry import dtype_policy

    monkeypatch.setattr(cost, "bf16_supported", lambda: True)
    with dtype_policy("mixed_bfloat16"):
        assert _dtypes(build_model("deeper", compile=False))[0] == "bfloat16"
        assert _dtypes(build_model("larger_input", compile=False, mixed_precision=False))[0] == "bfloat16"
    assert _dtypes(build_model("larger_input", compile=False, mixed_precision=False))[0] == "float32"
