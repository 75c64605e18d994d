"""Predict P(dog) for folders of images with a saved model (notebook 08).

* :func:`load_model` reads a ``.keras`` file and says clearly what is wrong when it cannot.
* :func:`scan_images` finds the JPEGs in a folder, and lists (never silently drops) the files
  it skips: not an image, not a JPEG, truncated or corrupt.
* :func:`predict_files` / :func:`predict_dataset` run the model over ``tf.data`` batches with
  the model's own input size and colour mode (read from ``model.input_shape``, decoded exactly
  as in training by :func:`utils.data.pipeline.decode_and_resize`), with a progress bar and
  optional test-time augmentation (the mean of P(dog) for the image and its mirror image).
"""
from utils.predict.batches import Prediction, files_dataset, predict_dataset, predict_files, with_mirror_images
from utils.predict.images import IMAGE_SUFFIXES, ImageScan, check_image, scan_images
from utils.predict.model import (PredictionError, batch_dog_probability, dog_column, dog_probability, load_model,
                                 model_input)

__all__ = ["IMAGE_SUFFIXES", "ImageScan", "Prediction", "PredictionError", "batch_dog_probability", "check_image",
           "dog_column", "dog_probability", "files_dataset", "load_model", "model_input", "predict_dataset",
           "predict_files", "scan_images", "with_mirror_images"]
