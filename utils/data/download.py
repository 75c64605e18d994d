"""Resumable downloads with a progress bar and optional checksum (introduced in notebook 01).

An interrupted download leaves ``NAME.part`` beside the target; the next call asks the server
for the rest (an HTTP ``Range`` request) instead of starting again. The finished file is
renamed into place only when complete (and, if a sha256 is given, only when it matches), so a
half-downloaded archive is never mistaken for a good one.
"""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from utils.progress import progress

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The download failed; the message says why and what to do (notebook 01)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, target: Path, sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` (resuming a ``.part`` file) and return ``target`` (notebook 01).

    An existing ``target`` is kept as it is (checked against ``sha256`` when given).
    """
    target = Path(target)
    if target.exists():
        if sha256 and sha256_of(target) != sha256.lower():
            raise DownloadError(
                f"{target.name} exists but its sha256 does not match; move it away and retry."
            )
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and done:  # the .part file already holds everything
            response = None
        else:
            raise DownloadError(f"Could not download {url}: HTTP {error.code} {error.reason}.") from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"Could not reach {url} ({getattr(error, 'reason', error)}).") from error

    if response is not None:
        with response:
            resumed = done and response.status == 206
            if done and not resumed:
                done = 0  # the server ignored Range: start again
            length = response.headers.get("Content-Length")
            total = done + int(length) if length else None
            mode = "ab" if resumed else "wb"
            what = "Resuming" if resumed else "Downloading"
            with open(part, mode) as handle, progress(
                total=total, initial=done, unit="B", unit_scale=True, desc=f"{what} {target.name}"
            ) as bar:
                try:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        handle.write(block)
                        bar.update(len(block))
                except (OSError, ConnectionError) as error:
                    raise DownloadError(
                        f"The download of {target.name} was interrupted ({error}); "
                        "run again to resume where it stopped."
                    ) from error
            if total is not None and part.stat().st_size < total:
                raise DownloadError(
                    f"The download of {target.name} stopped at {part.stat().st_size:,} of "
                    f"{total:,} bytes; run again to resume where it stopped."
                )
    if sha256:
        actual = sha256_of(part)
        if actual != sha256.lower():
            part.unlink()
            raise DownloadError(
                f"{target.name} downloaded but its sha256 is {actual}, not {sha256}: the file is "
                "damaged or not the one expected. It was deleted; run again to download afresh."
            )
    part.rename(target)
    return target
