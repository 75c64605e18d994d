"""Tests for utils.explain (notebook 06): Grad-CAM, feature maps, filters.

Made-up arrays only: these are pure functions of a model and an image.
"""
import keras
import numpy as np
import pytest

from utils import explain as interp

SIZE = 32


def bright_square(top=18, left=6, side=8, size=SIZE):
    image = np.zeros((size, size, 1), "float32")
    image[top:top + side, left:left + side] = 1.0
    return image


def square_detector(nested: bool = False) -> keras.Model:
    """Conv filter that fires only on bright regions; the head says "dog" the more it fires."""
    conv = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="detector")
    inputs = keras.Input((SIZE, SIZE, 1))
    if nested:
        inner_in = keras.Input((SIZE, SIZE, 1))
        base = keras.Model(inner_in, conv(inner_in), name="base")
        x = keras.layers.Rescaling(1.0, name="prep")(inputs)
        x = base(x, training=False)
    else:
        x = conv(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(x))
    kernel = np.zeros((3, 3, 1, 2), "float32")
    kernel[..., 0, 0] = 1.0 / 9.0  # mean brightness of the 3x3 patch
    kernel[..., 0, 1] = -1.0 / 9.0  # never fires on non-negative images
    conv.set_weights([kernel, np.array([-0.5, 0.0], "float32")])
    dense.set_weights([np.array([[64.0], [64.0]], "float32"), np.array([-1.0], "float32")])
    return model


@pytest.mark.parametrize("nested", [False, True])
def test_grad_cam_peaks_on_the_planted_square(nested):
    model = square_detector(nested)
    assert interp.last_conv_layer_name(model) == "detector"
    heatmap, p_dog = interp.grad_cam(model, bright_square(), class_index=1)
    assert heatmap.shape == (SIZE, SIZE)
    assert heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)
    peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert 18 <= peak[0] < 26 and 6 <= peak[1] < 14
    inside = heatmap[19:25, 7:13].mean()
    outside = heatmap[:10, 20:].mean()
    assert inside > 0.5 and outside == 0.0
    assert p_dog > 0.5


def test_grad_cam_finds_no_evidence_for_the_other_class():
    model = square_detector()
    heatmap, _ = interp.grad_cam(model, bright_square(), class_index=0)
    assert heatmap.shape == (SIZE, SIZE)
    assert np.all(heatmap == 0)


def test_grad_cam_flat_and_nested_agree():
    flat, _ = interp.grad_cam(square_detector(False), bright_square(), class_index=1)
    nested, _ = interp.grad_cam(square_detector(True), bright_square(), class_index=1)
    np.testing.assert_allclose(flat, nested, atol=1e-5)


def small_cnn() -> keras.Model:
    return keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        keras.layers.MaxPooling2D(name="p1"),
        keras.layers.Conv2D(8, 3, activation="relu", name="c2"),
        keras.layers.MaxPooling2D(name="p2"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="softmax"),
    ])


def test_feature_map_shapes_at_several_depths():
    keras.utils.set_random_seed(0)
    model = small_cnn()
    image = np.random.RandomState(0).uniform(0, 255, (SIZE, SIZE, 3)).astype("float32")
    maps = interp.feature_maps(model, image, ["c1", "p1", "c2"])
    assert {k: v.shape for k, v in maps.items()} == {"c1": (32, 32, 4), "p1": (16, 16, 4), "c2": (14, 14, 8)}
    assert interp.conv_layer_names(model) == ["c1", "c2"]
    assert interp.layers_at_depths(model) == ["c1", "c2"]  # the end of each Conv-Pool block
    # Grad-CAM skips the pooling layer and explains c2; softmax head works too.
    assert interp.last_conv_layer_name(model) == "c2"
    heatmap, p_dog = interp.grad_cam(model, image)
    assert heatmap.shape == (14, 14) and heatmap.min() >= 0 and 0 <= p_dog <= 1


def test_feature_maps_inside_a_nested_base():
    model = square_detector(nested=True)
    maps = interp.feature_maps(model, bright_square(), ["detector"])
    assert maps["detector"].shape == (SIZE, SIZE, 2)
    assert maps["detector"][20, 8, 0] > 0 and maps["detector"][2, 2, 0] == 0


def test_filters_as_images_scales_each_filter():
    model = small_cnn()
    kernel = interp.first_layer_filters(model)
    assert kernel.shape == (3, 3, 3, 4)
    tiles = interp.filters_as_images(kernel)
    assert tiles.shape == (4, 3, 3, 3)
    assert np.allclose(tiles.min(axis=(1, 2, 3)), 0) and np.allclose(tiles.max(axis=(1, 2, 3)), 1)


def test_overlay_heatmap_is_an_image_of_the_input_size():
    image = np.full((40, 60, 3), 255.0, "float32")
    heatmap = np.zeros((5, 5), "float32")
    heatmap[2, 2] = 1.0
    out = interp.overlay_heatmap(image, heatmap, alpha=0.5)
    assert out.shape == (40, 60, 3) and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out[20, 30], out[0, 0])  # the hot centre is coloured differently


def test_layers_at_depths_in_a_pretrained_base():
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3))
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(base(inputs, training=False)))
    names = interp.layers_at_depths(model, count=4)
    assert len(names) == 4 and names[0] == "Conv1_relu" and names[-1] == "out_relu"
    maps = interp.feature_maps(model, np.zeros((32, 32, 3), "float32"), names)
    assert maps["Conv1_relu"].shape == (16, 16, 32) and maps["out_relu"].shape == (1, 1, 1280)
    assert interp.last_conv_layer_name(model) == "out_relu"
