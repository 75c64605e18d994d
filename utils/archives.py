"""Safe, idempotent extraction of zip archives (introduced in notebook 01).

* Safe: a member with an absolute path, a drive letter or ``..`` could write outside the
  target folder ("zip slip"); such an archive is refused before anything is written.
* Idempotent: a finished extraction leaves a ``.extracted`` record (archive size, time and
  member count); a second call finds it and does no work. An extraction that was interrupted
  is redone from scratch in a temporary folder and moved into place only when complete.
"""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from utils.progress import progress

RECORD = ".extracted"
SKIPPED_PREFIXES = ("__MACOSX/",)


class ArchiveError(ValueError):
    """The archive cannot be used; the message says why and what to do."""


def unsafe_member(name: str) -> bool:
    """True for a member name that would land outside the target folder."""
    posix = PurePosixPath(name.replace("\\", "/"))
    windows = PureWindowsPath(name)
    return posix.is_absolute() or bool(windows.drive) or windows.root != "" or ".." in posix.parts


def list_members(archive: Path) -> list[zipfile.ZipInfo]:
    """The archive's file members, after checking that the archive is readable and safe."""
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
    return files


def _fingerprint(archive: Path, count: int) -> dict:
    stat = archive.stat()
    return {"archive": archive.name, "size": stat.st_size, "mtime": int(stat.st_mtime), "members": count}


def extract(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into ``target`` (once) and return ``target``."""
    archive, target = Path(archive), Path(target)
    members = list_members(archive)
    fingerprint = _fingerprint(archive, len(members))
    record = target / RECORD
    if record.is_file():
        try:
            if json.loads(record.read_text()) == fingerprint:
                return target
        except json.JSONDecodeError:
            pass
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in progress(members, desc=f"Extracting {archive.name}", unit="file"):
            zf.extract(info, staging)
    (staging / RECORD).write_text(json.dumps(fingerprint))
    if target.exists():
        shutil.rmtree(target)  # an older or unfinished extraction of ours
    staging.rename(target)
    return target
