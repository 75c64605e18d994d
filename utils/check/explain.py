"""Checks for notebook 06's exercises (what the network sees)."""
from __future__ import annotations

from typing import Any

import numpy as np

from utils.check._report import exercise

MISTAKE_GROUPS = ("small or hidden", "context", "ambiguous", "several or none")


@exercise("06.1")
def other_class_heatmap(model: Any, image: Any, layer_name: str, heatmap: Any) -> tuple[bool, str]:
    """The Grad-CAM heatmap of class 0 (cat) for a dog image, on ``layer_name`` (notebook 06)."""
    from utils.explain import grad_cam

    heatmap = np.asarray(heatmap, dtype=float)
    cat, _ = grad_cam(model, image, class_index=0, layer_name=layer_name)
    dog, _ = grad_cam(model, image, class_index=1, layer_name=layer_name)
    if heatmap.shape != cat.shape:
        return False, f"your map is {heatmap.shape}; {layer_name}'s grid is {cat.shape}: use the same layer."
    if np.allclose(heatmap, cat, atol=1e-3):
        return True, ""
    if np.allclose(heatmap, dog, atol=1e-3):
        return False, "that is the evidence for 'dog'; which class_index is 'cat'?"
    return False, "compute it with grad_cam(model, image, class_index=..., layer_name=...) and normalise as it does."


@exercise("06.2")
def earlier_layer_heatmap(model: Any, layer_name: str, heatmap: Any, later_layer: str) -> tuple[bool, str, str]:
    """A Grad-CAM heatmap on an earlier layer than ``later_layer``: a finer grid (notebook 06)."""
    heatmap = np.asarray(heatmap)
    grid = tuple(model.get_layer(layer_name).output.shape[1:3])
    later = tuple(model.get_layer(later_layer).output.shape[1:3])
    if heatmap.shape != grid:
        return False, f"a Grad-CAM map has the layer's grid, here {grid}; yours is {heatmap.shape}.", ""
    if grid[0] <= later[0]:
        return False, f"{layer_name}'s grid is not finer than {later_layer}'s: pick one of the shallower `depths`.", ""
    return True, "", f"{grid[0]}x{grid[1]} cells against {later[0]}x{later[1]}: sharper, and busier."


@exercise("06.3")
def flipped_prediction(model: Any, image: Any, p_dog_flipped: float) -> tuple[bool, str]:
    """P(dog) of ``image`` flipped left to right (notebook 06)."""
    from utils.predict import dog_probability

    expected = float(dog_probability(model, np.asarray(image)[None, :, ::-1])[0])
    if abs(float(np.ravel(p_dog_flipped)[0]) - expected) < 1e-3:
        return True, ""
    unflipped = float(dog_probability(model, np.asarray(image)[None])[0])
    if abs(float(np.ravel(p_dog_flipped)[0]) - unflipped) < 1e-3:
        return False, "that is the prediction for the image as it is; flip it with image[:, ::-1] first."
    return False, "predict P(dog) for image[:, ::-1] (height, width, channels: the width is the second axis)."


@exercise("06.4")
def mistake_groups(groups: dict, mistakes: Any) -> tuple[bool, str, str]:
    """The surest mistakes sorted into the four groups of "Study the mistakes" (counts per group) (notebook 06)."""
    unknown = sorted(set(groups) - set(MISTAKE_GROUPS))
    if unknown:
        return False, f"use the group names {', '.join(repr(g) for g in MISTAKE_GROUPS)} (not {unknown}).", ""
    if sum(int(v) for v in groups.values()) != len(mistakes):
        return False, f"the counts add up to {sum(groups.values())}, but there are {len(mistakes)} mistakes.", ""
    largest = max(groups, key=groups.get)
    return True, "", f"Your largest group is {largest!r}; there is no single right sorting."
