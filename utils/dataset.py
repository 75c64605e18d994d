"""Build the dataset: find, extract, check, split and record it (introduced in notebook 01).

``prepare_dataset()`` turns whatever real data the learner has (see ``utils.sources``) into one
internal form, a *manifest* CSV under ``data/``: one row per usable image with its path, label
(0 = cat, 1 = dog, -1 = unlabelled test image), split (train / validation / test), Kaggle test
id, size and content hash. Every later notebook reads the manifest with ``load_manifest()``,
which builds it first if it is missing.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from utils import paths
from utils.archives import extract
from utils.images import ImageCheck, inspect_images
from utils.profiles import Profile, get_profile
from utils.sources import DataSource, locate_data
from utils.splits import split_labelled

LABEL_NAMES = {0: "cat", 1: "dog"}
KAGGLE_NAME = re.compile(r"^(cat|dog)\.\d+\.jpe?g$", re.IGNORECASE)
TEST_NAME = re.compile(r"^(\d+)\.jpe?g$", re.IGNORECASE)
CLASS_FOLDERS = {"cat": 0, "cats": 0, "dog": 1, "dogs": 1}
NOT_DATA = {".extracted", ".ds_store", "thumbs.db", "sample_submission.csv", "readme.md", "license.txt"}
MANIFEST_COLUMNS = ["path", "label", "split", "id", "width", "height", "sha256"]


class NoLabelledImages(ValueError):
    """The data holds no image whose name or folder says cat or dog."""


@dataclass
class DatasetReport:
    """What prepare_dataset found and wrote."""

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
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    return Path(data_dir or paths.data_dir()) / f"manifest-{profile.name}.csv"


def role_of(path: Path) -> tuple[str, int, int]:
    """('labelled', label, -1), ('test', -1, id) or ('unrecognised', -1, -1) from a file's name and folder."""
    if KAGGLE_NAME.match(path.name):
        return "labelled", 0 if path.name.lower().startswith("cat") else 1, -1
    if path.suffix.lower() in (".jpg", ".jpeg") and path.parent.name.lower() in CLASS_FOLDERS:
        return "labelled", CLASS_FOLDERS[path.parent.name.lower()], -1
    test = TEST_NAME.match(path.name)
    if test and path.parent.name.lower() == "test":
        return "test", -1, int(test[1])
    return "unrecognised", -1, -1


def materialise(source: DataSource, data_dir: Path, say=print) -> list[Path]:
    """Extract the source's archives (and archives inside them) under data/extracted/; return image folders."""
    roots, pending = [], list(source.items)
    while pending:
        item = pending.pop(0)
        if item.is_dir():
            roots.append(item)
            continue
        target = data_dir / "extracted" / item.stem
        already = (target / ".extracted").is_file()
        extract(item, target)
        say(f"{'Already extracted' if already else 'Extracted'} {item.name} -> {paths.relative(target)}/")
        inner = sorted(p for p in target.rglob("*.zip"))
        pending.extend(inner)
        if not inner:
            roots.append(target)
        elif any(p.suffix.lower() != ".zip" and p.name != ".extracted" and p.is_file()
                 and p.suffix.lower() != ".csv" for p in target.rglob("*")):
            roots.append(target)
        for csv in target.rglob("sample_submission.csv"):
            source.sample_submission = source.sample_submission or csv
    return roots


def index_files(roots: list[Path]) -> pd.DataFrame:
    """Every file under the image folders with its role (labelled / test / unrecognised)."""
    rows = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.lower() in NOT_DATA or path.suffix.lower() == ".zip":
                continue
            if any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts):
                continue
            role, label, test_id = role_of(path)
            rows.append({"filepath": str(path), "role": role, "label": label, "id": test_id})
    return pd.DataFrame(rows, columns=["filepath", "role", "label", "id"])


def _checks_with_cache(files: list[Path], data_dir: Path) -> list[ImageCheck]:
    """inspect_images, reusing earlier results for files whose size and time are unchanged."""
    cache_path = data_dir / "image-checks.csv"
    cached = {}
    if cache_path.is_file():
        old = pd.read_csv(cache_path, keep_default_na=False)
        cached = {(r.path, r.size, r.mtime): r for r in old.itertuples(index=False)}
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
        data_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(cache_path, index=False)
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
    say=print,
) -> DatasetReport:
    """Find the data, extract it, check every image, split it and write the manifest.

    Safe to run again: archives already extracted and images already checked are not redone.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    data_dir = Path(data_dir or paths.data_dir()).resolve()
    source = source or locate_data(say=say)
    say(source.describe())
    roots = materialise(source, data_dir, say=say)

    files = index_files(roots)
    candidates = files[files["role"] != "unrecognised"]
    if (candidates["role"] == "labelled").sum() == 0:
        shown = ", ".join(paths.relative(r) for r in roots)
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
    manifest.to_csv(target, index=False)
    if source.sample_submission and source.sample_submission.is_file():
        shutil.copyfile(source.sample_submission, data_dir / "sample_submission.csv")
    summary = {
        "profile": profile.name,
        "source": source.describe(),
        "images_found": int(len(files)),
        "bad_files": bad.to_dict("records"),
        "duplicate_groups": int(len(duplicates)),
        "conflicting_duplicates": len(conflicting),
        "splits": manifest["split"].value_counts().to_dict(),
    }
    (data_dir / f"dataset-{profile.name}.json").write_text(json.dumps(summary, indent=1))
    say(
        f"Checked {len(files):,} files: {len(bad)} bad, {len(duplicates)} duplicate group(s). "
        f"Wrote {paths.relative(target)} ({len(manifest):,} rows, profile {profile.name!r})."
    )
    return DatasetReport(source, profile, target, _with_filepaths(manifest, data_dir), files, bad, duplicates)


def _with_filepaths(frame: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    frame = frame.copy()
    frame["filepath"] = [str(p if Path(p).is_absolute() else data_dir / p) for p in frame["path"]]
    return frame


def load_manifest(profile: Profile | str | None = None, data_dir: Path | None = None) -> pd.DataFrame:
    """The manifest of the run profile, built first (prepare_dataset) when missing or stale."""
    data_dir = Path(data_dir or paths.data_dir()).resolve()
    target = manifest_path(profile, data_dir)
    if target.is_file():
        frame = _with_filepaths(pd.read_csv(target, keep_default_na=False), data_dir)
        if all(Path(p).is_file() for p in frame["filepath"]):
            return frame
        print(f"Some images listed in {paths.relative(target)} are gone; rebuilding the dataset.")
    else:
        print(f"No dataset for this profile yet ({paths.relative(target)}); building it (notebook 01).")
    return prepare_dataset(profile, data_dir).frame
