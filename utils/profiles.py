"""Run profiles: how much data and how many epochs a run uses (introduced in notebook 01).

Choose one with the ``CATSDOGS_PROFILE`` environment variable:

* ``smoke``: a few hundred images and one epoch, so CI can run the whole series in minutes.
* ``default``: what a learner runs on a laptop CPU (up to 4,000 labelled images).
* ``full``: every image found (all 25,000 of Kaggle's), for a GPU or a long CPU run.

The same code runs in every profile; only these numbers change.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

PROFILE_VARIABLE = "CATSDOGS_PROFILE"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    max_labelled: int | None  # labelled images used, balanced between the classes (None: all)
    max_test: int | None  # unlabelled test images used (None: all)
    validation_fraction: float  # share of the labelled images held out for validation
    max_epochs: int | None  # caps every training run (None: each model's own number)
    seed: int = 42

    def epochs(self, wanted: int) -> int:
        """The epochs a run gets: what the model asks for, capped by the profile."""
        return wanted if self.max_epochs is None else max(1, min(wanted, self.max_epochs))


PROFILES = {
    "smoke": Profile("smoke", "CI: a few hundred images, one epoch", 240, 40, 0.25, 1),
    "default": Profile("default", "a laptop CPU: up to 4,000 images", 4000, 1000, 0.2, None),
    "full": Profile("full", "every image found: a GPU or a long CPU run", None, None, 0.1, None),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named, or the one ``CATSDOGS_PROFILE`` names, or ``default``."""
    name = (name or os.environ.get(PROFILE_VARIABLE) or "default").strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"Unknown run profile {name!r} (from {PROFILE_VARIABLE}). "
            f"Choose one of: {', '.join(PROFILES)}."
        )
    return PROFILES[name]
