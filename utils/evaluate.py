"""Score a trained model on the validation split (introduced in notebook 03).

Accuracy counts right answers; log loss (Kaggle's metric for this competition) also punishes
confident mistakes, so a model that says 0.99 and is wrong pays far more than one that says
0.6. :func:`evaluate_split` gathers the predictions once; the other helpers read them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from utils.config import CLASS_NAMES, THRESHOLD

if TYPE_CHECKING:
    import keras

EPSILON = 1e-15  # Kaggle clips predictions to [1e-15, 1 - 1e-15] before taking logs


def accuracy(labels: ArrayLike, dog_probabilities: ArrayLike, threshold: float = THRESHOLD) -> float:
    """Share of images whose predicted class (P(dog) > threshold means dog) is right (notebook 03)."""
    labels = np.asarray(labels)
    return float(np.mean((np.asarray(dog_probabilities) > threshold).astype(int) == labels))


def log_loss(labels: ArrayLike, dog_probabilities: ArrayLike) -> float:
    """Kaggle's binary log loss: mean of -[y log p + (1 - y) log(1 - p)], with p clipped (notebook 03)."""
    y = np.asarray(labels, dtype="float64")
    p = np.clip(np.asarray(dog_probabilities, dtype="float64"), EPSILON, 1 - EPSILON)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"labels {y.shape} and probabilities {p.shape} must be non-empty and alike")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def confusion_matrix(labels: ArrayLike, dog_probabilities: ArrayLike, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Counts of true class (rows) against predicted class (columns) (notebook 03)."""
    labels = np.asarray(labels)
    predicted = (np.asarray(dog_probabilities) > threshold).astype(int)
    counts = np.zeros((2, 2), dtype=int)
    np.add.at(counts, (labels, predicted), 1)
    return pd.DataFrame(counts, index=[f"true {n}" for n in CLASS_NAMES],
                        columns=[f"predicted {n}" for n in CLASS_NAMES])


@dataclass
class Evaluation:
    """Predictions of one model on one split, with the scores computed from them (notebook 03)."""

    frame: pd.DataFrame  # the split's manifest rows, plus p_dog, predicted, correct, confidence_wrong

    @property
    def accuracy(self) -> float:
        return accuracy(self.frame["label"], self.frame["p_dog"])

    @property
    def log_loss(self) -> float:
        return log_loss(self.frame["label"], self.frame["p_dog"])

    @property
    def confusion(self) -> pd.DataFrame:
        return confusion_matrix(self.frame["label"], self.frame["p_dog"])

    def most_confidently_wrong(self, n: int = 8) -> pd.DataFrame:
        return most_confidently_wrong(self.frame, n)

    def scores(self) -> dict:
        return {"images": len(self.frame), "accuracy": round(self.accuracy, 4), "log_loss": round(self.log_loss, 4)}


def with_predictions(frame: pd.DataFrame, dog_probabilities: ArrayLike) -> pd.DataFrame:
    """``frame`` plus P(dog), the predicted label, whether it is right, and how sure a wrong answer was
    (notebook 03)."""
    frame = frame.copy()
    frame["p_dog"] = np.asarray(dog_probabilities, dtype="float64")
    frame["predicted"] = (frame["p_dog"] > THRESHOLD).astype(int)
    frame["correct"] = frame["predicted"] == frame["label"]
    # Probability given to the wrong class: 1.0 means sure and wrong.
    frame["p_wrong"] = np.where(frame["label"] == 1, 1 - frame["p_dog"], frame["p_dog"])
    return frame


def most_confidently_wrong(frame_with_predictions: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The ``n`` wrong answers the model was surest of (highest probability on the wrong class; notebook 03)."""
    wrong = frame_with_predictions[~frame_with_predictions["correct"]]
    return wrong.sort_values("p_wrong", ascending=False, kind="stable").head(n)


def evaluate_split(model: keras.Model, frame: pd.DataFrame, split: str = "validation",
                   image_size: tuple[int, int] | None = None, color_mode: str | None = None,
                   batch_size: int = 64) -> Evaluation:
    """Predict every image of ``split`` with ``model`` (input size and colour read from the model; notebook 03)."""
    from utils.data.pipeline import make_dataset
    from utils.predict import dog_probability, model_input

    expected_size, expected_mode = model_input(model)
    image_size = tuple(image_size or expected_size)
    color_mode = color_mode or expected_mode
    rows = frame[frame["split"] == split]
    ds = make_dataset(rows, image_size=image_size, color_mode=color_mode, batch_size=batch_size, shuffle=False,
                      with_labels=True)
    return Evaluation(with_predictions(rows.reset_index(drop=True), dog_probability(model, ds)))
