"""The test images: the JPEGs a folder holds, checked one by one; what is skipped is listed with why (notebook 08)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from utils.predict.model import PredictionError, _shown
from utils.progress import progress

IMAGE_SUFFIXES = {".jpg", ".jpeg"}


@dataclass
class ImageScan:
    """The images a folder holds: readable JPEGs, and what was skipped and why (notebook 08)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    def report(self, limit: int = 10) -> str:
        lines = [f"{len(self.files)} readable JPEG image(s); {len(self.skipped)} file(s) skipped."]
        for name, reason in self.skipped[:limit]:
            lines.append(f"  skipped {name}: {reason}")
        if len(self.skipped) > limit:
            lines.append(f"  ... and {len(self.skipped) - limit} more")
        return "\n".join(lines)


def check_image(path: Path) -> str | None:
    """Why ``path`` cannot be used as a JPEG image, or None when it decodes completely (notebook 08).

    The same check notebook 01 runs on the training data (:func:`utils.data.images.inspect_image`).
    """
    from utils.data.images import inspect_image

    check = inspect_image(path)
    return None if check.ok else check.reason


def scan_images(source: str | os.PathLike | Iterable[str | os.PathLike], show_progress: bool = True) -> ImageScan:
    """The JPEGs in a folder (or a list of files), checked one by one, in file-name order (notebook 08).

    Files that are not JPEGs, or that are truncated or corrupt, are listed in
    ``ImageScan.skipped`` with the reason; so are hidden files and sub-folders (which are not
    looked into).
    """
    scan = ImageScan()
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.exists():
            raise PredictionError(f"The image folder {_shown(folder)} does not exist.")
        if not folder.is_dir():
            raise PredictionError(f"{_shown(folder)} is not a folder; pass the folder holding the test images.")
        try:
            entries = sorted(folder.iterdir())
        except OSError as error:
            raise PredictionError(f"Cannot list {_shown(folder)} ({error.strerror}).") from error
        candidates = []
        for entry in entries:
            if entry.is_dir():
                scan.skipped.append((entry.name + "/", "a folder: its files are not used (move them up)"))
            elif entry.name.startswith("."):
                scan.skipped.append((entry.name, "a hidden file"))
            elif entry.is_file():
                candidates.append(entry)
            else:
                scan.skipped.append((entry.name, "not a regular file"))
    else:
        candidates = [Path(p) for p in source]
    bar = progress(candidates, desc="Checking images", unit="img", disable=not show_progress or len(candidates) < 2)
    for path in bar:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            scan.skipped.append((path.name, f"not a .jpg file"))
            continue
        problem = check_image(path)
        if problem:
            scan.skipped.append((path.name, problem))
        else:
            scan.files.append(path)
    return scan
