"""Build the dataset: find, extract, check, split and record it (introduced in notebook 01).

``prepare_dataset()`` turns whatever real data the learner has (see ``utils.data.sources``) into one
internal form, a *manifest* CSV under ``data/``: one row per usable image with its path, label
(0 = cat, 1 = dog, -1 = unlabelled test image), split (train / validation / test), Kaggle test
id, size and content hash. Every later notebook reads the manifest with ``load_manifest()``,
which builds it first if it is missing, stale, or made from other data than the data found now
(``CATSDOGS_DATA`` changed). Two builds started at once in one home are serialised by a file
lock (``data/.dataset.lock``); the manifest and the image-check cache are written to a
temporary file and renamed into place, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from utils.config import get_profile, LABEL_NAMES, Profile
from utils import config
from utils.data.archives import file_lock
from utils.data.files import index_files, materialise
from utils.data.images import ImageCheck, inspect_images
from utils.data.sources import DataNotFound, DataSource, locate_data
from utils.data.splits import split_labelled

MANIFEST_COLUMNS = ["path", "label", "split", "id", "width", "height", "sha256"]


class NoLabelledImages(ValueError):
    """The data holds no image whose name or folder says cat or dog (notebook 01)."""


class OneClassOnly(NoLabelledImages):
    """The labelled images are all cats or all dogs: nothing to learn, a meaningless accuracy (notebook 01)."""


LOCK_NAME = ".dataset.lock"
CHECK_COLUMNS = ["path", "ok", "reason", "width", "height", "sha256", "size", "mtime"]


def write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """``write(temporary path)``, then rename it to ``target``: never a partial file (notebook 01)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


@dataclass
class DatasetReport:
    """What prepare_dataset found and wrote (notebook 01)."""

    source: DataSource
    profile: Profile
    manifest_path: Path
    frame: pd.DataFrame  # the manifest, with an absolute `filepath` column
    files: pd.DataFrame  # every file found: path, role, label, id, ok, reason, width, height, sha256
    bad_files: pd.DataFrame  # path, reason
    duplicates: pd.DataFrame  # sha256, count, labels, paths (labelled images only)

    def split_sizes(self) -> pd.DataFrame:
        table = self.frame.assign(cls=self.frame["label"].map({**LABEL_NAMES, -1: "unlabelled"}))
        return table.pivot_table(index="split", columns="cls", values="path", aggfunc="count", fill_value=0)


def manifest_path(profile: Profile | str | None = None, data_dir: Path | None = None) -> Path:
    profile = get_profile(profile)
    return Path(data_dir or config.data_dir()) / f"manifest-{profile.name}.csv"


def _checks_with_cache(files: list[Path], data_dir: Path) -> list[ImageCheck]:
    """inspect_images, reusing earlier results for files whose size and time are unchanged."""
    cache_path = data_dir / "image-checks.csv"
    cached = {}
    if cache_path.is_file():
        try:
            old = pd.read_csv(cache_path, keep_default_na=False)
            missing = [c for c in CHECK_COLUMNS if c not in old.columns]
            if missing:
                raise ValueError(f"columns {missing} are missing")
            old = old.astype({"size": int, "mtime": int, "width": int, "height": int})
            cached = {(r.path, r.size, r.mtime): r for r in old.itertuples(index=False)}
        except (ValueError, TypeError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            print(f"{config.relative(cache_path)} is damaged ({str(error).splitlines()[0][:120]}); "
                  "checking every image again and writing it anew.")
            cached = {}
    keys = []
    for f in files:
        stat = f.stat()
        keys.append((str(f), stat.st_size, int(stat.st_mtime_ns)))
    todo = [f for f, key in zip(files, keys) if key not in cached]
    fresh = {c.path: c for c in inspect_images(todo)} if todo else {}
    checks, rows = [], []
    for f, key in zip(files, keys):
        if key in cached:
            r = cached[key]
            check = ImageCheck(str(f), bool(r.ok), r.reason, int(r.width), int(r.height), r.sha256)
        else:
            check = fresh[str(f)]
        checks.append(check)
        rows.append({**check.__dict__, "size": key[1], "mtime": key[2]})
    if rows:
        table = pd.DataFrame(rows)
        write_atomically(cache_path, lambda tmp: table.to_csv(tmp, index=False))
    return checks


def _stored_path(filepath: str, data_dir: Path) -> str:
    path = Path(filepath)
    try:
        return path.relative_to(data_dir).as_posix()
    except ValueError:
        return path.as_posix()


def prepare_dataset(
    profile: Profile | str | None = None,
    data_dir: Path | None = None,
    source: DataSource | None = None,
    say: Callable[[str], object] = print,
) -> DatasetReport:
    """Find the data, extract it, check every image, split it and write the manifest (notebook 01).

    Safe to run again: archives already extracted and images already checked are not redone.
    Safe to run twice at once in one home: the second waits for the first (a file lock).
    """
    profile = get_profile(profile)
    data_dir = Path(data_dir or config.data_dir()).resolve()
    with file_lock(data_dir / LOCK_NAME):
        return _prepare_dataset(profile, data_dir, source, say)


def _prepare_dataset(profile: Profile, data_dir: Path, source: DataSource | None, say) -> DatasetReport:
    source = source or locate_data(say=say)
    say(source.describe())
    roots = materialise(source, data_dir, say=say)

    files = index_files(roots)
    candidates = files[files["role"] != "unrecognised"]
    if (candidates["role"] == "labelled").sum() == 0:
        shown = ", ".join(config.relative(r) for r in roots)
        raise NoLabelledImages(
            f"No labelled images were found in {shown}: expected Kaggle names (cat.0.jpg, "
            "dog.0.jpg) or per-class folders (cats/, dogs/). Check that you gave the training data."
        )
    checks = _checks_with_cache([Path(p) for p in candidates["filepath"]], data_dir)
    check_frame = pd.DataFrame([c.__dict__ for c in checks]).rename(columns={"path": "filepath"})
    files = files.merge(check_frame, on="filepath", how="left")
    unrecognised = files["role"] == "unrecognised"
    files.loc[unrecognised, "ok"] = False
    files.loc[unrecognised, "reason"] = "name not recognised (expected cat.N.jpg, dog.N.jpg, cats/, dogs/ or test/N.jpg)"
    files["ok"] = files["ok"].astype(bool)
    files[["width", "height"]] = files[["width", "height"]].fillna(0).astype(int)
    files["sha256"] = files["sha256"].fillna("")
    files["path"] = [_stored_path(p, data_dir) for p in files["filepath"]]

    bad = files.loc[~files["ok"], ["path", "reason"]].reset_index(drop=True)
    good = files[files["ok"]]
    labelled = good[good["role"] == "labelled"]

    groups = labelled.groupby("sha256").agg(
        count=("path", "size"), labels=("label", lambda s: sorted(set(s))), paths=("path", list)
    )
    duplicates = groups[groups["count"] > 1].reset_index()
    conflicting = set(duplicates.loc[duplicates["labels"].map(len) > 1, "sha256"])
    labelled = labelled[~labelled["sha256"].isin(conflicting)]
    classes = sorted(set(labelled["label"]))
    if len(classes) < 2:
        only = LABEL_NAMES[classes[0]] if classes else "no"
        other = "dog" if only == "cat" else "cat"
        raise OneClassOnly(
            f"The data holds {only} images only ({len(labelled):,} usable labelled images, no {other}s): "
            "a classifier needs both classes, and its accuracy would mean nothing. Give the full "
            "training data (Kaggle's train.zip holds cat.N.jpg and dog.N.jpg; or cats/ and dogs/ folders)."
        )

    chosen = split_labelled(
        labelled[["path", "label", "sha256", "width", "height"]],
        profile.max_labelled, profile.validation_fraction, profile.seed,
    )
    chosen["id"] = -1
    test = good[good["role"] == "test"].sort_values("id")
    if profile.max_test is not None:
        test = test.head(profile.max_test)
    test = test.assign(split="test")[["path", "label", "split", "id", "width", "height", "sha256"]]
    manifest = pd.concat([chosen[MANIFEST_COLUMNS], test], ignore_index=True)
    manifest[["label", "id", "width", "height"]] = manifest[["label", "id", "width", "height"]].astype(int)

    data_dir.mkdir(parents=True, exist_ok=True)
    target = manifest_path(profile, data_dir)
    write_atomically(target, lambda tmp: manifest.to_csv(tmp, index=False))
    if source.sample_submission and source.sample_submission.is_file():
        shutil.copyfile(source.sample_submission, data_dir / "sample_submission.csv")
    summary = {
        "profile": profile.name,
        "source": source.describe(),
        "source_key": source.key(),
        "images_found": int(len(files)),
        "bad_files": bad.to_dict("records"),
        "duplicate_groups": int(len(duplicates)),
        "conflicting_duplicates": len(conflicting),
        "splits": manifest["split"].value_counts().to_dict(),
    }
    write_atomically(summary_path(profile, data_dir), lambda tmp: tmp.write_text(json.dumps(summary, indent=1)))
    say(
        f"Checked {len(files):,} files: {len(bad)} bad, {len(duplicates)} duplicate group(s). "
        f"Wrote {config.relative(target)} ({len(manifest):,} rows, profile {profile.name!r})."
    )
    return DatasetReport(source, profile, target, _with_filepaths(manifest, data_dir), files, bad, duplicates)


def _with_filepaths(frame: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    frame = frame.copy()
    frame["filepath"] = [str(p if Path(p).is_absolute() else data_dir / p) for p in frame["path"]]
    return frame


def summary_path(profile: Profile | str | None = None, data_dir: Path | None = None) -> Path:
    profile = get_profile(profile)
    return Path(data_dir or config.data_dir()) / f"dataset-{profile.name}.json"


def source_changed(profile: Profile | str | None = None, data_dir: Path | None = None) -> str | None:
    """Why the manifest was built from other data than the data found now, or None (notebook 01).

    Only local sources are looked at (``CATSDOGS_DATA``, ``data/raw/``): nothing is downloaded.
    A ``CATSDOGS_DATA`` that points at nothing usable raises its clear ``DataNotFound``.
    """
    try:
        current = locate_data(allow_kaggle=False, allow_download=False, say=lambda *_: None)
    except DataNotFound:
        if config.data_override() is not None:
            raise
        return None
    try:
        recorded = json.loads(summary_path(profile, data_dir).read_text()).get("source_key")
    except (OSError, ValueError, AttributeError):
        recorded = None
    now = current.key()
    if recorded == now:
        return None
    if recorded is None:
        return "the dataset has no record of the data it was built from"
    if recorded.get("folder") != now["folder"]:
        before, after = config.relative(recorded.get("folder") or "?"), config.relative(now["folder"])
        if before == after:
            return f"it was built from another folder named {after}"
        return f"it was built from {before}, and the data is now in {after}"
    return f"the files in {config.relative(now['folder'])} changed since it was built"


def load_manifest(profile: Profile | str | None = None, data_dir: Path | None = None) -> pd.DataFrame:
    """The manifest of the run profile, built first (prepare_dataset) when missing, stale or made
    from other data than the data found now (e.g. ``CATSDOGS_DATA`` changed) (notebook 01)."""
    data_dir = Path(data_dir or config.data_dir()).resolve()
    target = manifest_path(profile, data_dir)
    if target.is_file():
        changed = source_changed(profile, data_dir)
        try:
            frame = pd.read_csv(target, keep_default_na=False)
            readable = all(c in frame for c in MANIFEST_COLUMNS)
            frame = _with_filepaths(frame, data_dir) if readable else None
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
            frame, readable = None, False
        if not readable:
            print(f"{config.relative(target)} is damaged; rebuilding the dataset.")
        elif changed:
            print(f"{config.relative(target)} does not match the data found now ({changed}); rebuilding the dataset.")
        elif all(Path(p).is_file() for p in frame["filepath"]):
            return frame
        else:
            print(f"Some images listed in {config.relative(target)} are gone; rebuilding the dataset.")
    else:
        print(f"No dataset for this profile yet ({config.relative(target)}); building it (notebook 01).")
    return prepare_dataset(profile, data_dir).frame
