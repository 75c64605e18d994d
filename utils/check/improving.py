"""Checks for notebook 04's exercises (improving the CNN)."""
from __future__ import annotations

import math
import shlex
from typing import Any

from utils.check._report import close, exercise


@exercise("04.1")
def gap_cnn_at_128(flops_ratio: float, params_ratio: float) -> tuple[bool, str]:
    """FLOPs and parameters of gap_cnn at 128x128, each as a ratio to the same network at 64x64 (notebook 04)."""
    if not close(flops_ratio, (128 / 64) ** 2, rel=0.05):
        return False, "the convolutions' FLOPs grow with the number of pixels each map has."
    if not close(params_ratio, 1.0, rel=0.001):
        return False, "which layer's weights depend on the input size once global average pooling replaces Flatten?"
    return True, ""


@exercise("04.2")
def augmentation_without_rotation(augmentation: Any) -> tuple[bool, str]:
    """``make_augmentation`` rewritten without RandomRotation, every other layer and setting kept (notebook 04)."""
    from utils.models.registry import augmentation_layers

    def settings(layers):
        return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
                for layer in layers]

    expected = [s for s in settings(augmentation_layers().layers) if s[0] != "RandomRotation"]
    mine = settings(augmentation.layers)
    if any(name == "RandomRotation" for name, _ in mine):
        return False, "the model still has a RandomRotation layer."
    if [name for name, _ in mine] != [name for name, _ in expected]:
        return False, "keep the other three augmentation layers, in the same order."
    if mine != expected:
        return False, "keep the other layers' settings (factors, fill mode, seeds) as in make_augmentation."
    return True, ""


@exercise("04.3")
def train_command(command: str) -> tuple[bool, str]:
    """The command line that trains the baseline for 3 epochs (notebook 04)."""
    words = shlex.split(str(command))
    if words[:3] != ["python", "-m", "utils.train"] and words[1:3] != ["-m", "utils.train"]:
        return False, "the command starts `python -m utils.train` (run from the project's folder)."
    options: dict[str, str] = {}
    for i, word in enumerate(words):
        if word.startswith("--"):
            key, _, value = word.partition("=")
            options[key] = value or (words[i + 1] if i + 1 < len(words) else "")
    if options.get("--variant") != "baseline":
        return False, "name the variant to train with --variant (see `python -m utils.train --list`)."
    if options.get("--epochs") != "3":
        return False, "set the number of epochs with --epochs."
    return True, ""


@exercise("04.4")
def warmup_schedule(schedule: Any, steps_per_epoch: int) -> tuple[bool, str]:
    """A 10-epoch schedule: linear warm-up to 2e-3 over the first epoch, then cosine decay to 0 (notebook 04)."""
    at = lambda step: float(schedule(step))  # noqa: E731
    total, warmup, peak = 10 * steps_per_epoch, steps_per_epoch, 2e-3
    if not close(at(warmup), peak, rel=0.02):
        return False, "the learning rate should reach its peak, 2e-3, after one epoch of warm-up."
    if at(0) > 1e-4:
        return False, "a warm-up starts near 0."
    decay = total - warmup
    for step in (warmup + decay // 4, warmup + decay // 2, total - 1):
        cosine = peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / decay))
        if abs(at(step) - cosine) > 2e-5:
            return False, ("after the warm-up it should follow a cosine to 0 over the remaining nine epochs: "
                           "look at warmup_cosine.")
    return True, ""


@exercise("04.5")
def progressive_share(share: float) -> tuple[bool, str]:
    """The share of the epochs at 48x48, in a progressive run that ends at 112x112, that gives the pixels of
    80x80 throughout (notebook 04)."""
    share = float(share)
    right = (112**2 - 80**2) / (112**2 - 48**2)
    if close(share, right, rel=0.01):
        return True, ""
    if close(share, 1 - right, rel=0.01):
        return False, "that is the share of the epochs at 112x112; the question asks for the share at 48x48."
    if not 0 < share < 1:
        return False, "a share of the epochs lies between 0 and 1."
    return False, ("count the pixels an epoch sees on average over the run: share x 48² + (1 - share) x 112² "
                   "should equal 80²; solve for share.")
