"""The published recipes (utils.models.peer_recipes) registered as variants: layer by layer as their sources print them."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from utils.models.registry import VARIANTS, build_model
from utils.predict import dog_probability

from tests.layer_descriptions import described




def test_tf_tutorial_is_the_tutorials_model():
    variant = VARIANTS["tf_tutorial"]
    assert (variant.input_shape, variant.batch_size, variant.epochs, variant.learning_rate) == ((180, 180, 3), 32, 15, 1e-3)
    assert variant.patience >= variant.epochs and variant.restore_best is False  # no early stopping in the tutorial
    model = build_model("tf_tutorial")
    assert described(model) == [
        "RandomFlip", "RandomRotation", "RandomZoom", "Rescaling(0.00392)",
        "Conv2D(16,3,same,relu)", "MaxPooling2D(2)", "Conv2D(32,3,same,relu)", "MaxPooling2D(2)",
        "Conv2D(64,3,same,relu)", "MaxPooling2D(2)", "Dropout(0.2)", "Flatten", "Dense(128,relu)", "Dense(2,softmax)",
    ]
    augmentation = model.get_layer("augmentation").layers
    assert (augmentation[0].mode, tuple(augmentation[1].factor), augmentation[2].height_factor) == ("horizontal", (-0.1, 0.1), 0.1)
    # The tutorial prints 3,989,285 parameters for its 5 flower classes: 645 in the last layer, 258 here.
    assert model.count_params() == 3_989_285 - 645 + 258
    assert isinstance(model.optimizer, keras.optimizers.Adam) and model.loss == "sparse_categorical_crossentropy"


def test_chollet_ch8_is_the_books_model():
    variant = VARIANTS["chollet_ch8"]
    assert (variant.input_shape, variant.batch_size, variant.epochs, variant.learning_rate) == ((180, 180, 3), 32, 100, 1e-3)
    assert variant.patience >= variant.epochs and variant.restore_best is True  # the best validation-loss checkpoint
    model = build_model("chollet_ch8")
    assert described(model) == [
        "RandomFlip", "RandomRotation", "RandomZoom", "Rescaling(0.00392)",
        "Conv2D(32,3,valid,relu)", "MaxPooling2D(2)", "Conv2D(64,3,valid,relu)", "MaxPooling2D(2)",
        "Conv2D(128,3,valid,relu)", "MaxPooling2D(2)", "Conv2D(256,3,valid,relu)", "MaxPooling2D(2)",
        "Conv2D(256,3,valid,relu)", "Flatten", "Dropout(0.5)", "Dense(1,sigmoid)",
    ]
    augmentation = model.get_layer("augmentation").layers
    assert (augmentation[0].mode, tuple(augmentation[1].factor), augmentation[2].height_factor) == ("horizontal", (-0.1, 0.1), 0.2)
    assert model.count_params() == 991_041  # as the book's model.summary() prints
    assert isinstance(model.optimizer, keras.optimizers.RMSprop) and model.loss == "binary_crossentropy"


@pytest.mark.parametrize("name", ["tf_tutorial", "chollet_ch8"])
def test_peer_recipes_give_p_dog_between_0_and_1(name):
    model = build_model(name)
    images = np.random.default_rng(0).uniform(0, 255, (3, 180, 180, 3)).astype("float32")
    p = dog_probability(model, images)
    assert p.shape == (3,) and ((p > 0) & (p < 1)).all()
