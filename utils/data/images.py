"""Check every image file once: is it a readable JPEG? (introduced in notebook 01).

Real data sets hold surprises: empty files, truncated downloads, PNGs or HTML pages saved
with a ``.jpg`` name. One bad file can crash training hours in, so every file is decoded
once, up front; bad ones are listed by name with the reason and left out.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from utils.progress import progress

SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"BM": "a BMP image",
    b"RIFF": "a WebP image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}


OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")  # "<_io.BytesIO object at 0x...>"


@dataclass(frozen=True)
class ImageCheck:
    path: str
    ok: bool
    reason: str  # empty when ok
    width: int = 0
    height: int = 0
    sha256: str = ""


def inspect_image(path: Path | str) -> ImageCheck:
    """Decode one file fully and say whether it is a usable JPEG (and its size and hash) (notebook 01)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return ImageCheck(str(path), False, f"unreadable ({error.strerror})")
    if not data:
        return ImageCheck(str(path), False, "empty file")
    digest = hashlib.sha256(data).hexdigest()
    if not data.startswith(b"\xff\xd8\xff"):
        kind = next((name for magic, name in SIGNATURES.items() if data.startswith(magic)), None)
        reason = f"not a JPEG ({kind})" if kind else "not an image"
        return ImageCheck(str(path), False, reason, sha256=digest)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                mode, (width, height) = image.mode, image.size
    except Exception as error:  # PIL raises several types for broken data
        detail = OBJECT_REPR.sub("", str(error)).strip(" :") or type(error).__name__
        return ImageCheck(str(path), False, f"corrupt or truncated JPEG ({detail})", sha256=digest)
    if mode not in ("L", "RGB"):
        return ImageCheck(str(path), False, f"unsupported colour mode {mode}", width, height, digest)
    return ImageCheck(str(path), True, "", width, height, digest)


def inspect_images(files: list[Path], workers: int = 4, desc: str = "Checking images") -> list[ImageCheck]:
    """inspect_image over many files, in parallel threads, with a progress bar (notebook 01)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(progress(pool.map(inspect_image, files), total=len(files), desc=desc, unit="img"))
