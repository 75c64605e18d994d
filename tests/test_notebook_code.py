"""Notebooks 03, 04, 06 and 09 teach the code they run, and their prose types no measured figure (issue #14).

Static checks of the committed notebooks (no kernel); nbval re-runs them in the smoke profile.
"""
from __future__ import annotations

import base64
import re
import struct

import pytest

from tests.test_notebook_claims import cells, source, text_outputs

MINE = ["03_baseline_cnn", "04_improving_the_cnn", "06_what_the_network_sees", "09_appendix_training_speed_on_a_cpu"]


def code_of(name):
    return "\n".join(source(c) for c in cells(name) if c["cell_type"] == "code")


def prose_of(name):
    """Markdown a learner reads as this run's text: not solutions, not the dated lab notes."""
    return [source(c) for c in cells(name) if c["cell_type"] == "markdown"
            and "solution" not in c.get("metadata", {}).get("tags", []) and not source(c).startswith("## Read the lab notes")]


def test_notebook_03_writes_the_model_compile_and_fit_with_its_callbacks():
    code = code_of("03_baseline_cnn")
    for piece in ["keras.Sequential([", "seed_model.compile(", "keras.optimizers.Adam(", "sparse_categorical_crossentropy",
                  "seed_model.fit(", "keras.callbacks.TensorBoard(", "keras.callbacks.EarlyStopping(",
                  "keras.callbacks.ModelCheckpoint(", "keras.callbacks.CSVLogger(", "start_run(", "run.finish(",
                  "callback_settings(callbacks) == callback_settings(run.callbacks("]:
        assert piece in code, piece
    assert "train_variant(" not in code, "notebook 03 trains with visible code, not the registry's one call"


def test_notebook_04_writes_every_model_and_schedule_and_checks_each_against_the_registry():
    code = code_of("04_improving_the_cnn")
    for piece in ["def seed_cnn(", "def make_augmentation(", "layers.RandomFlip(", "def conv_bn_relu(",
                  "layers.BatchNormalization(", "layers.GlobalAveragePooling2D(", "def gap_cnn(",
                  "CosineDecay(3e-4", "warmup_target=peak", "model.compile(", "model.fit(", "def train("]:
        assert piece in code, piece
    for variant in ["color_larger", "augmented", "batchnorm_gap", "deeper", "larger_input"]:
        assert f'same_network(model, "{variant}")' in code, variant
    # progressive resizing: one any-size network, two calls of fit with one optimizer, the kept model at 96x96
    assert 'same_network(final, "progressive")' in code
    assert "image_size=(None, None)" in code and "initial_epoch=at_small" in code
    assert code.count("model.fit(") >= 3, "train() and the two phases of progressive resizing each call fit"
    assert "progressive_phases(progressive, epochs)" in code, "the phases are checked against the registry's"
    # mixed precision is written out too: the policy set around the build, the output layer kept in float32
    for piece in ['keras.mixed_precision.set_global_policy(policy)', 'keras.mixed_precision.set_global_policy("float32")',
                  'dtype="float32", name="probabilities"', "bf16_supported()"]:
        assert piece in code, piece
    assert "settings(make_augmentation()) == settings(augmentation_layers())" in code
    assert code.count("learning_rate_schedule(") >= 2, "both schedules are checked against the registry's"


def test_notebook_06_writes_grad_cam_with_a_gradient_tape_on_the_8x8_layer():
    code = code_of("06_what_the_network_sees")
    assert "tf.GradientTape()" in code and "tape.gradient(score, activations)" in code
    assert "cam_layer_name(scratch)" in code and "np.allclose(same, heatmap" in code
    from utils.explain import cam_layer_name
    from utils.models.registry import build_model

    model = build_model("deeper", compile=False)
    name = cam_layer_name(model)
    assert name == "block4_relu2" and tuple(model.get_layer(name).output.shape[1:3]) == (8, 8)


@pytest.mark.parametrize("name", MINE)
def test_prose_types_no_measured_figure(name):
    """Accuracies, losses, times and shares in the text come from the run (generated Markdown), not typed."""
    for text in prose_of(name):
        text = re.sub(r"<!-- timings -->.*?<!-- /timings -->", "", text, flags=re.S)  # written by the runner
        typed = set(re.findall(r"\b0\.[1-9]\d{2}\b", text)) - {"0.693"}  # ln 2, the log loss of always 0.5
        assert not typed, (typed, text[:300])                                # an accuracy or a loss
        assert not re.search(r"\b\d+(\.\d+)? ?min(utes)?\b", text), text[:300]  # a measured time
        assert not re.search(r"\b\d+ ?GFLOP/s", text), text[:300]


@pytest.mark.parametrize("name", MINE)
def test_house_rules(name):
    nb = cells(name)
    assert any("solution" in c.get("metadata", {}).get("tags", []) for c in nb)
    for cell in nb:
        text = source(cell)
        assert "<details>" not in text, "solutions go in cells tagged 'solution'"
        if cell["cell_type"] == "code" and "assert" in text:
            printed = "".join(t for t in text_outputs(cell))
            assert printed.strip(), f"a cell that asserts prints a confirmation:\n{text[:200]}"
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                width, height = struct.unpack(">II", base64.b64decode(png)[16:24])
                assert width >= 250 and height >= 120, f"a figure {width}x{height} px is too small to read"
        for printed in text_outputs(cell):
            assert not re.search(r"(?<![\w.])(/work|/tmp|/root|/home)/", printed), printed[:200]
            assert "%|" not in printed, "a progress-bar frame"
            assert "Warning" not in printed and "WARNING" not in printed, printed[:300]
