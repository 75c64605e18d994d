"""Checks for notebook 05's exercises (transfer learning)."""
from __future__ import annotations

from utils.check._report import exercise, same_choice

#: Exercise 2's answers, lettered a, b, c.
HEAD_FIRST_CHOICES = dict(zip("abc", ("Keras cannot compile a model whose head has random weights.",
                                      "A random head makes large, meaningless errors whose gradients wreck the "
                                      "pretrained layers.",
                                      "Training the head first is only faster, not better.")))


@exercise("05.1")
def efficientnet_weights(file_name: str, changes_pixel_range: bool) -> tuple[bool, str]:
    """The no-top weights file EfficientNetB0 at 224 needs, and whether its preprocess_input rescales (notebook 05)."""
    from utils.models.transfer import imagenet_weights_file

    if str(file_name).strip() != imagenet_weights_file("EfficientNetB0", 224)[0]:
        return False, "ask `imagenet_weights_file(\"EfficientNetB0\", 224)`; it gives the file name and its URL."
    if changes_pixel_range is not False:
        return False, ("call `keras.applications.efficientnet.preprocess_input` on an array of pixels and compare "
                       "the output with the input.")
    return True, ""


@exercise("05.2")
def head_first(choice: str) -> tuple[bool, str]:
    """Multiple choice: why the head is trained before fine-tuning (see HEAD_FIRST_CHOICES) (notebook 05)."""
    return same_choice(choice, "b"), "think about the gradients that reach the unfrozen layers in the first steps."


@exercise("05.3")
def forward_passes(without_cache: int, with_cache: int) -> tuple[bool, str, str]:
    """Passes through MobileNetV2 to train the head 20 epochs on 3,200 images, without and with the cache
    (notebook 05)."""
    train, validation, epochs = 3_200, 800, 20
    if (int(without_cache), int(with_cache)) == (epochs * train, train):
        return True, "", "Counting the 800 validation images evaluated after each epoch too is also right."
    if (int(without_cache), int(with_cache)) == (epochs * (train + validation), train + validation):
        return True, "", "That counts the validation images as well."
    if int(without_cache) != epochs * train and int(without_cache) != epochs * (train + validation):
        return False, "without a cache, every epoch sends every training image through the base again.", ""
    return False, "with the cache, each image goes through the base once; the epochs then train only the head.", ""
