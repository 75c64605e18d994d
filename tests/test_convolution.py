"""The hand-written convolution and pooling of notebook 02 (utils.convolution) against Keras."""
from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from utils import convolution as conv  # noqa: E402

SHAPES = [(7, 7), (9, 12), (16, 11)]
KERNEL_SIZES = [(3, 3), (2, 4), (5, 5)]
STRIDES = [1, 2, (3, 2)]
PADDINGS = ["valid", "same"]


def _keras_conv(image, kernel, strides, padding):
    """Conv2D with our kernel as its weights (no bias) applied to one (H, W, C) image."""
    layer = keras.layers.Conv2D(
        kernel.shape[3], kernel.shape[:2], strides=strides, padding=padding, use_bias=False
    )
    layer.build((1, *image.shape))
    layer.set_weights([kernel.astype("float32")])
    return np.asarray(layer(image[None].astype("float32")))[0]


@pytest.mark.parametrize(
    "shape, ksize, strides, padding, channels",
    [
        (shape, ksize, strides, padding, channels)
        for (shape, ksize, strides, padding), channels in zip(
            itertools.product(SHAPES, KERNEL_SIZES, STRIDES, PADDINGS), itertools.cycle([(1, 1), (3, 2), (2, 4)])
        )
    ],
)
def test_conv2d_matches_keras_conv2d(shape, ksize, strides, padding, channels):
    rng = np.random.default_rng(zlib.crc32(repr((shape, ksize, strides, padding)).encode()))
    image = rng.normal(size=(*shape, channels[0]))
    kernel = rng.normal(size=(*ksize, *channels))
    expected = _keras_conv(image, kernel, strides, padding)
    looped = conv.conv2d_loop(image, kernel, strides, padding)
    fast = conv.conv2d_vectorised(image, kernel, strides, padding)
    assert looped.shape == expected.shape
    np.testing.assert_allclose(looped, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast, looped, rtol=1e-10, atol=1e-10)


def test_conv2d_2d_inputs_match_tf_nn_conv2d():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, size=(20, 17))
    kernel = rng.normal(size=(3, 3))
    expected = tf.nn.conv2d(
        image[None, :, :, None].astype("float32"), kernel[:, :, None, None].astype("float32"),
        strides=1, padding="SAME",
    ).numpy()[0, :, :, 0]
    got = conv.conv2d_vectorised(image, kernel, padding="same")
    assert got.shape == (20, 17)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)


def test_deep_learning_convolution_does_not_flip_the_kernel():
    """Keras computes cross-correlation: a flipped (true-convolution) kernel gives a different map."""
    rng = np.random.default_rng(1)
    image = rng.normal(size=(10, 10, 1))
    kernel = rng.normal(size=(3, 3, 1, 1))  # not symmetric
    expected = _keras_conv(image, kernel, 1, "valid")[:, :, 0]
    cross = conv.conv2d_vectorised(image[:, :, 0], kernel[:, :, 0, 0])
    true_conv = conv.convolve2d(image[:, :, 0], kernel[:, :, 0, 0])
    np.testing.assert_allclose(cross, expected, rtol=1e-4, atol=1e-4)
    assert not np.allclose(true_conv, expected, atol=1e-2)
    # Flipping the kernel twice gets back to cross-correlation.
    np.testing.assert_allclose(conv.convolve2d(image[:, :, 0], kernel[::-1, ::-1, 0, 0]), cross)


def test_a_single_one_picks_out_the_pixel_it_sits_on():
    image = np.arange(25, dtype=float).reshape(5, 5)
    kernel = np.zeros((3, 3))
    kernel[0, 0] = 1  # top-left weight: the output is the top-left pixel of each window
    np.testing.assert_array_equal(conv.conv2d_loop(image, kernel), image[:3, :3])
    np.testing.assert_array_equal(conv.convolve2d(image, kernel), image[2:, 2:])


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(
    "shape, pool, strides, padding",
    [
        ((8, 8, 1), 2, None, "valid"),
        ((9, 7, 3), 2, None, "same"),
        ((9, 7, 3), 3, None, "valid"),
        ((10, 11, 2), 3, 2, "same"),
        ((10, 11, 2), (2, 3), (1, 2), "valid"),
        ((6, 5, 4), 3, 1, "same"),
    ],
)
def test_pooling_matches_keras(mode, shape, pool, strides, padding):
    rng = np.random.default_rng(len(shape) + shape[0] * 7 + shape[1])
    x = rng.normal(size=shape)
    layer_class = keras.layers.MaxPooling2D if mode == "max" else keras.layers.AveragePooling2D
    expected = np.asarray(layer_class(pool, strides=strides, padding=padding)(x[None].astype("float32")))[0]
    got = conv.pool2d(x, pool, strides, padding, mode)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_pooling_on_the_seed_grid():
    grid = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)
    np.testing.assert_array_equal(conv.max_pool2d(grid, 2), [[6, 8], [3, 4]])
    np.testing.assert_array_equal(conv.average_pool2d(grid, 2), [[3.25, 5.25], [2, 2]])


@pytest.mark.parametrize("n, k, s, padding", list(itertools.product([5, 8, 13], [1, 2, 3, 5], [1, 2, 3], PADDINGS)))
def test_output_size_formula_matches_keras(n, k, s, padding):
    layer = keras.layers.Conv2D(1, k, strides=s, padding=padding)
    got = layer.compute_output_shape((1, n, n + 1, 1))
    assert got[1] == conv.keras_output_size(n, k, s, padding)
    assert got[2] == conv.keras_output_size(n + 1, k, s, padding)
    if padding == "valid":
        assert got[1] == conv.output_size(n, k, s, p=0)
    elif k % 2 == 1 and s == 1:
        assert got[1] == conv.output_size(n, k, s, p=(k - 1) // 2)


def test_output_size_rejects_impossible_cases():
    assert conv.output_size(32, 3, 1, 1) == 32
    assert conv.output_size(7, 3, 2, 0) == 3
    with pytest.raises(ValueError, match="does not fit"):
        conv.output_size(2, 3)
    with pytest.raises(ValueError, match="stride"):
        conv.output_size(8, 3, 0)
    with pytest.raises(ValueError, match="padding"):
        conv.padding_amounts(8, 3, 1, "full")


def test_bad_shapes_get_a_clear_message():
    with pytest.raises(ValueError, match="input channels"):
        conv.conv2d_loop(np.zeros((5, 5, 3)), np.zeros((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="max' or 'average"):
        conv.pool2d(np.zeros((4, 4)), mode="median")


def test_receptive_field_growth():
    stack = [("conv 3x3", 3, 1), ("pool 2x2", 2, 2), ("conv 3x3", 3, 1), ("pool 2x2", 2, 2)]
    fields = conv.receptive_fields(stack)
    assert [f.size for f in fields] == [3, 4, 8, 10]
    assert [f.jump for f in fields] == [1, 2, 2, 4]


def test_receptive_field_is_what_changes_one_output():
    """Perturb one input pixel: exactly the outputs whose field contains it change (3x3 then 3x3)."""
    rng = np.random.default_rng(3)
    image = rng.normal(size=(15, 15))
    k1, k2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    stack = lambda im: conv.conv2d_vectorised(conv.conv2d_vectorised(im, k1), k2)  # noqa: E731
    bumped = image.copy()
    bumped[7, 7] += 1
    changed = ~np.isclose(stack(image), stack(bumped))
    size = conv.receptive_fields([("a", 3, 1), ("b", 3, 1)])[-1].size
    assert changed.sum() == size * size


def test_kernels_and_grayscale():
    assert set(conv.KERNELS) == set(conv.KERNEL_DESCRIPTIONS)
    flat = np.full((6, 6), 50.0)
    for name, kernel in conv.KERNELS.items():
        response = conv.conv2d_vectorised(flat, kernel)
        expected = 50.0 * kernel.sum()
        np.testing.assert_allclose(response, expected, err_msg=name)
    rgb = np.zeros((2, 2, 3))
    rgb[..., 1] = 100
    np.testing.assert_allclose(conv.to_grayscale(rgb), 58.70)
    np.testing.assert_array_equal(conv.relu([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])


def test_busiest_window_finds_the_edge():
    gray = np.zeros((40, 40))
    gray[20:, 26:] = 255  # one corner: the only edges in the picture
    top, left = conv.busiest_window(gray, 8)
    assert top <= 20 < top + 8 and left <= 26 < left + 8
    with pytest.raises(ValueError, match="grayscale"):
        conv.busiest_window(np.zeros((4, 4, 3)), 8)


# --- the figures of notebook 02 (utils.plots.convolution) ---------------------------------

@pytest.fixture
def plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils.plots import convolution

    yield convolution
    plt.close("all")


def test_pixel_grid_prints_every_value(plots):
    values = np.array([[0, 255], [128, np.nan]])
    ax = plots.pixel_grid(values, vmin=0, vmax=255)
    assert [t.get_text() for t in ax.texts] == ["0", "255", "128", ""]
    assert ax.texts[0].get_color() == "white" and ax.texts[1].get_color() == "black"


def test_slide_panels_show_the_products_and_fill_the_map(plots):
    import matplotlib.pyplot as plt

    image = np.arange(25, dtype=float).reshape(5, 5) * 10
    kernel = conv.KERNELS["vertical edges"]
    feature_map = conv.conv2d_loop(image, kernel)
    _, axes = plt.subplots(1, 3)
    update = plots.slide_panels(axes, image, kernel, feature_map)
    update(4)  # row 1, column 1 of the 3x3 map
    window = image[1:4, 1:4]
    assert [float(t.get_text()) for t in axes[1].texts] == list((window * kernel).ravel())
    assert f"sum = {(window * kernel).sum():.0f}" in axes[1].get_title()
    filled = [t.get_text() for t in axes[2].texts]
    assert filled[:5] == [f"{v:.0f}" for v in feature_map.ravel()[:5]] and filled[5:] == [""] * 4


def test_animation_embeds_one_frame_per_step(plots):
    image = np.random.default_rng(0).uniform(0, 255, size=(5, 5))
    html = plots.sliding_window_animation(image, conv.KERNELS["Sobel x"], max_frames=6, dpi=30)
    assert html.count("data:image/png;base64") == 6


def test_explore_draws_static_figures_when_headless(plots, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("CATSDOGS_HEADLESS", "1")
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append([ax.get_title() for ax in plt.gcf().axes]))
    image = np.random.default_rng(0).uniform(0, 255, size=(20, 20))
    settings = [{"kernel_name": "blur", "strides": 2, "padding": "same", "pool_size": 2},
                {"kernel_name": "sharpen", "strides": 1, "padding": "valid", "pool_size": 3}]
    assert plots.explore(image, settings) is None
    assert len(shown) == 2
    assert shown[0][1].endswith("10x10") and shown[0][3].endswith("5x5")
    assert shown[1][1].endswith("18x18") and shown[1][3].endswith("6x6")
