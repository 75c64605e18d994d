"""Safe, idempotent extraction of zip archives (introduced in notebook 01).

* Safe: a member with an absolute path, a drive letter or ``..`` could write outside the
  target folder ("zip slip"); such an archive is refused before anything is written.
* Bounded: an archive that would unpack to more than ``MAX_UNPACKED_BYTES`` (or whose members
  unpack to more than ``MAX_RATIO`` times their packed size: a "zip bomb") is refused before
  anything is written.
* Idempotent: a finished extraction leaves a ``.extracted`` record (archive size, time and
  member count); a second call finds it and does no work.
* Safe when two runs start at once: extraction of one target holds a file lock
  (``<target>.lock``); each extraction is staged in its own temporary folder, its file count
  is checked against the archive, and only then is it renamed into place with its record.
  A damaged member (bad CRC) stops it with a message and leaves no partial folder.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from utils.progress import progress

if TYPE_CHECKING:
    from filelock import FileLock

RECORD = ".extracted"
SKIPPED_PREFIXES = ("__MACOSX/",)
MAX_UNPACKED_BYTES = 64 * 2**30  # Kaggle's full competition zip unpacks to about 0.9 GB
MAX_RATIO = 200  # JPEGs barely compress (ratio about 1); text compresses about 10 times
RATIO_CHECKED_ABOVE = 16 * 2**20  # small members (a CSV of zeros) may compress very well
LOCK_TIMEOUT_SECONDS = 3600


def file_lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> FileLock:
    """A lock on ``path`` (a ``.lock`` file) shared by every process of this machine (``filelock``) (notebook 01)."""
    from filelock import FileLock

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), timeout=timeout)


class ArchiveError(ValueError):
    """The archive cannot be used; the message says why and what to do (notebook 01)."""


def unsafe_member(name: str) -> bool:
    """True for a member name that would land outside the target folder (notebook 01)."""
    posix = PurePosixPath(name.replace("\\", "/"))
    windows = PureWindowsPath(name)
    return posix.is_absolute() or bool(windows.drive) or windows.root != "" or ".." in posix.parts


def list_members(archive: Path) -> list[zipfile.ZipInfo]:
    """The archive's file members, after checking that the archive is readable and safe (notebook 01)."""
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveError(f"{archive.name}: no such file.")
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as error:
        raise ArchiveError(
            f"{archive.name} is not a zip archive (or is damaged: {error}). "
            "Download it again or remove it."
        ) from error
    unsafe = [info.filename for info in infos if unsafe_member(info.filename)]
    if unsafe:
        raise ArchiveError(
            f"{archive.name} was refused: {len(unsafe)} member(s) would be written outside the "
            f"target folder (absolute paths or '..'), e.g. {unsafe[0]!r}. Nothing was extracted."
        )
    files = [i for i in infos if not i.is_dir() and not i.filename.startswith(SKIPPED_PREFIXES)]
    if not files:
        raise ArchiveError(f"{archive.name} is empty: it holds no files. Download it again.")
    check_sizes(archive, files)
    return files


def check_sizes(archive: Path, files: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive that would unpack to too much (in all, or per byte packed) (notebook 01)."""
    total = sum(i.file_size for i in files)
    if total > MAX_UNPACKED_BYTES:
        raise ArchiveError(
            f"{archive.name} was refused: it would unpack to {total / 2**30:.1f} GB, more than the "
            f"{MAX_UNPACKED_BYTES / 2**30:.0f} GB allowed. Nothing was extracted; check that it is the right file."
        )
    for info in files:
        if info.file_size > RATIO_CHECKED_ABOVE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ArchiveError(
                f"{archive.name} was refused: its member {info.filename!r} would unpack from "
                f"{info.compress_size / 2**20:.1f} MB to {info.file_size / 2**20:.0f} MB (more than "
                f"{MAX_RATIO} times): not an image collection (a 'zip bomb'?). Nothing was extracted; "
                "download the data again from Kaggle."
            )


def _fingerprint(archive: Path, count: int) -> dict:
    stat = archive.stat()
    return {"archive": archive.name, "size": stat.st_size, "mtime": int(stat.st_mtime), "members": count}


def _current(record: Path, fingerprint: dict) -> bool:
    try:
        return json.loads(record.read_text()) == fingerprint
    except (OSError, ValueError):
        return False


def extract(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into ``target`` (once) and return ``target`` (notebook 01)."""
    archive, target = Path(archive), Path(target)
    members = list_members(archive)
    fingerprint = _fingerprint(archive, len(members))
    record = target / RECORD
    if _current(record, fingerprint):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.with_name(target.name + ".lock")):
        if _current(record, fingerprint):  # another run extracted it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            with zipfile.ZipFile(archive) as zf:
                for info in progress(members, desc=f"Extracting {archive.name}", unit="file"):
                    try:
                        zf.extract(info, staging)
                    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as error:
                        if isinstance(error, OSError) and not isinstance(error, EOFError) and error.errno:
                            raise ArchiveError(
                                f"Could not write {info.filename} from {archive.name} ({error.strerror}): "
                                "free some disk space or set CATSDOGS_HOME to a folder on another disk."
                            ) from error
                        raise ArchiveError(
                            f"{archive.name} is damaged: its member {info.filename!r} cannot be read "
                            f"({error}). Nothing was kept; download the archive again."
                        ) from error
            written = sum(1 for p in staging.rglob("*") if p.is_file())
            if written != len(members):
                raise ArchiveError(
                    f"Extracting {archive.name} gave {written} files instead of {len(members)}. "
                    "Nothing was kept; check the free disk space and run again."
                )
            (staging / RECORD).write_text(json.dumps(fingerprint))
            if target.exists():  # an older or unfinished extraction of ours: swap, then remove
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / target.name)
                os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
