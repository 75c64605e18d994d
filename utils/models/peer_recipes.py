"""Published recipes a learner might follow instead of this course, as registered variants (``bench/accuracy.py``).

Each builder writes the published model layer by layer, as published, so the accuracy
benchmark (``bench/accuracy.py``) can train it on the same data, under the same time budget,
and score it on the same evaluation set as the course's variants. The registry entries that use
them (``tf_tutorial`` and ``chollet_ch8`` in :data:`utils.models.registry.VARIANTS`) carry the published
input size, batch size, optimizer, loss and epochs; their early-stopping patience equals their
epochs, so early stopping never ends them (neither source uses it).

Two adaptations, both needed to run them here and neither changing what they compute:

* ``tf_tutorial`` ends, as published, in ``Dense(num_classes)`` logits trained with
  ``SparseCategoricalCrossentropy(from_logits=True)``. Here ``num_classes`` is 2 and the
  softmax is put inside the last layer (``Dense(2, activation="softmax")`` with
  ``sparse_categorical_crossentropy``): the same function and the same gradients, and the
  registry's convention, so P(dog) is column 1 of the output like every course variant's.
* ``chollet_ch8`` ends in ``Dense(1, activation="sigmoid")`` with ``binary_crossentropy``, as
  published; P(dog) is its one column (``utils.predict.dog_probability`` and the prediction
  command read either head).
"""
from __future__ import annotations

import keras
from keras import layers


def flip_rotate_zoom(zoom: float) -> keras.Sequential:
    """Both sources' augmentation: ``RandomFlip("horizontal")``, ``RandomRotation(0.1)``, ``RandomZoom(zoom)``."""
    return keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(zoom)],
                            name="augmentation")


def build_tf_tutorial(input_shape: tuple[int, int, int], name: str = "tf_tutorial") -> keras.Model:
    """The model of TensorFlow's "Image classification" tutorial, with its data augmentation.

    Source: https://www.tensorflow.org/tutorials/images/classification (sections "Data
    augmentation" and "Dropout"): ``RandomFlip("horizontal")``, ``RandomRotation(0.1)``,
    ``RandomZoom(0.1)``; ``Rescaling(1./255)``; ``Conv2D(16|32|64, 3, padding='same',
    activation='relu')`` each followed by ``MaxPooling2D()``; ``Dropout(0.2)``; ``Flatten()``;
    ``Dense(128, activation='relu')``; ``Dense(num_classes)``. Input 180x180 RGB, batch 32,
    ``optimizer='adam'``, 15 epochs. The output here is ``Dense(2, softmax)`` instead of 2 logits
    with a ``from_logits`` loss (the same model; see the module docstring).
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = flip_rotate_zoom(zoom=0.1)(inputs)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    for block, width in enumerate((16, 32, 64), start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{block}_conv1")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    outputs = layers.Dense(2, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_chollet_ch8(input_shape: tuple[int, int, int], name: str = "chollet_ch8") -> keras.Model:
    """The small convnet with data augmentation of *Deep Learning with Python*, 2nd ed., chapter 8.

    Source: F. Chollet, *Deep Learning with Python*, 2nd edition (Manning, 2021), section 8.2.5
    "Using data augmentation" (the companion notebook ``chapter08_intro-to-convnets``
    of github.com/fchollet/deep-learning-with-python-notebooks): ``RandomFlip("horizontal")``,
    ``RandomRotation(0.1)``, ``RandomZoom(0.2)``; ``Rescaling(1./255)``; ``Conv2D(32|64|128|256|256,
    kernel_size=3, activation="relu")`` (valid padding) with ``MaxPooling2D(pool_size=2)`` between
    them (none after the last); ``Flatten()``; ``Dropout(0.5)``; ``Dense(1, activation="sigmoid")``.
    Input 180x180 RGB, batch 32, ``loss="binary_crossentropy"``, ``optimizer="rmsprop"``, 100
    epochs, keeping the checkpoint with the best validation loss.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = flip_rotate_zoom(zoom=0.2)(inputs)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    widths = (32, 64, 128, 256, 256)
    for block, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, 3, activation="relu", name=f"block{block}_conv1")(x)
        if block < len(widths):
            x = layers.MaxPooling2D(pool_size=2, name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


#: Builder name (``Variant.options["builder"]``) -> builder.
PEER_BUILDERS = {"tf_tutorial": build_tf_tutorial, "chollet_ch8": build_chollet_ch8}


def peer_variants() -> list:
    """The registry entries of the published recipes (added to :data:`utils.models.registry.VARIANTS`)."""
    from utils.models.registry import Variant

    return [
        Variant(
            "tf_tutorial",
            "TensorFlow's 'Image classification' tutorial, as published: 180x180 RGB, flip/rotate/zoom, "
            "three Conv-Pool blocks 16-64, Dropout(0.2), Dense(128), Adam, 15 epochs.",
            image_size=(180, 180), color_mode="rgb", epochs=15, batch_size=32, learning_rate=1e-3,
            patience=15, restore_best=False,  # no early stopping, the last epoch's weights
            options={"builder": "tf_tutorial", "optimizer": "adam", "loss": "sparse_categorical_crossentropy"},
        ),
        Variant(
            "chollet_ch8",
            "Deep Learning with Python (2nd ed.) ch. 8, as published: 180x180 RGB, flip/rotate/zoom, five "
            "Conv2D 32-256, Dropout(0.5), sigmoid, RMSprop, 100 epochs, best validation-loss checkpoint.",
            image_size=(180, 180), color_mode="rgb", epochs=100, batch_size=32, learning_rate=1e-3,
            patience=100, restore_best=True,  # ModelCheckpoint(save_best_only=True, monitor="val_loss")
            options={"builder": "chollet_ch8", "optimizer": "rmsprop", "loss": "binary_crossentropy"},
        ),
    ]
