"""Find the real data, wherever the learner has it (introduced in notebook 01).

Sources are tried in this order, and the one chosen is stated in plain words:

a. ``CATSDOGS_DATA``: a folder (or zip) holding Kaggle's files (``train.zip``, ``test.zip``,
   ``sample_submission.csv``, the competition zip, or extracted ``train/`` and ``test/``), or
   ``cats_and_dogs_filtered.zip`` / its folder;
b. the same files in ``data/raw/``;
c. ``kaggle competitions download`` when Kaggle credentials exist;
d. TensorFlow's public sample ``cats_and_dogs_filtered.zip`` (3,000 images), downloaded;
e. otherwise a message listing a-d.
"""
from __future__ import annotations

import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from utils.config import COMPETITION, DATA_VARIABLE, SAMPLE_URL_VARIABLE
from utils.kaggle import credentials_source, kaggle_program
from utils import config
from utils.data.download import DownloadError, download

COMPETITION_ZIP = f"{COMPETITION}.zip"
FILTERED = "cats_and_dogs_filtered"
SAMPLE_URL = f"https://download.mlcc.google.com/mledu-datasets/{FILTERED}.zip"
FILTERED_COUNTS = {"train/cats": 1000, "train/dogs": 1000, "validation/cats": 500, "validation/dogs": 500}


class DataNotFound(RuntimeError):
    """No usable data was found; the message lists every way to provide it (notebook 01)."""


@dataclass
class DataSource:
    """Where the data came from and the archives/folders that hold it (notebook 01)."""

    kind: str  # "CATSDOGS_DATA", "data/raw", "kaggle" or "download"
    folder: Path
    items: list[Path] = field(default_factory=list)  # zips and folders holding images
    sample_submission: Path | None = None
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it is not used)

    def describe(self) -> str:
        names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in self.items)
        where = {
            "CATSDOGS_DATA": f"the folder named by {DATA_VARIABLE}",
            "data/raw": "data/raw/ in this project",
            "kaggle": f"Kaggle's competition files, downloaded with the kaggle CLI into data/raw/",
            "download": f"TensorFlow's public sample, downloaded into data/raw/",
        }[self.kind]
        said = f"Using {where}: {names}."
        for path, why in self.ignored:
            said += f" Not using {path.name}: {why}."
        return said

    def key(self) -> dict:
        """What identifies this data (folder, files, their sizes and times): a changed key means
        the dataset must be built again."""
        items = []
        for item in self.items:
            stat = item.stat()
            items.append([item.name, stat.st_size if item.is_file() else 0,
                          int(stat.st_mtime) if item.is_file() else 0])
        return {"kind": self.kind, "folder": str(Path(self.folder).resolve()), "items": items}


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in (".jpg", ".jpeg") for p in folder.rglob("*") if p.is_file())


def _entries(folder: Path) -> dict[str, Path]:
    """The folder's entries by lower-case name (``Train.zip`` is ``train.zip``)."""
    try:
        return {p.name.lower(): p for p in sorted(folder.iterdir())}
    except OSError:
        return {}


def find_in_folder(folder: Path, ignored: list | None = None) -> list[Path]:
    """The data files in ``folder``, Kaggle's first; empty when it holds none (notebook 01).

    Names are matched whatever their case. When the competition zip lies beside the
    ``train.zip`` / ``test.zip`` extracted from it, only those are used (the same images
    twice would be counted twice); ``ignored`` receives ``(path, why)`` for the zip left out.
    """
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() == ".zip":
        return [folder]
    if not folder.is_dir():
        return []
    entries = _entries(folder)
    parts = []
    for name in ("train", "test"):
        archive, subfolder = entries.get(f"{name}.zip"), entries.get(name)
        if archive is not None and archive.is_file():
            parts.append(archive)
        elif subfolder is not None and subfolder.is_dir() and _has_images(subfolder):
            parts.append(subfolder)
    competition = entries.get(COMPETITION_ZIP.lower())
    if competition is not None and competition.is_file():
        if parts:
            if ignored is not None:
                ignored.append((competition, "the " + " and ".join(p.name for p in parts)
                                + " beside it hold the same images"))
        else:
            parts.append(competition)
    if parts:
        return parts
    filtered_zip, filtered = entries.get(f"{FILTERED}.zip".lower()), entries.get(FILTERED.lower())
    if filtered_zip is not None and filtered_zip.is_file():
        return [filtered_zip]
    if filtered is not None and filtered.is_dir():
        return [filtered]
    if any((folder / c).is_dir() for c in ("cats", "dogs", "cat", "dog")):
        return [folder]
    return []


def _source(kind: str, folder: Path) -> DataSource | None:
    ignored: list = []
    items = find_in_folder(folder, ignored)
    if not items:
        return None
    submission = _entries(folder).get("sample_submission.csv") if folder.is_dir() else None
    return DataSource(kind, folder, items, submission if submission and submission.is_file() else None, ignored)


def download_from_kaggle(target: Path, say: Callable[[str], object] = print) -> DataSource | None:
    """Source c: ``kaggle competitions download``; None (having said why) when it cannot run (notebook 01)."""
    program = kaggle_program()
    if not program or not credentials_source():
        return None
    target.mkdir(parents=True, exist_ok=True)
    say(f"Downloading the competition data with the kaggle CLI into {config.relative(target)}/ ...")
    result = subprocess.run(
        [program, "competitions", "download", "-c", COMPETITION, "-p", str(target)],
        capture_output=True, text=True,
    )
    source = _source("kaggle", target)
    if result.returncode != 0 or source is None:
        detail = (result.stderr or result.stdout).strip().splitlines()
        say(
            "The kaggle download failed"
            + (f" ({detail[-1]})" if detail else "")
            + f". You must accept the competition rules first: open "
            f"https://www.kaggle.com/competitions/{COMPETITION}/rules and click 'I understand and accept'."
        )
        return None
    return source


def check_filtered_zip(archive: Path) -> None:
    """Raise DownloadError unless the zip holds 1,000 + 1,000 training and 500 + 500 validation JPEGs (notebook 01)."""
    counts = dict.fromkeys(FILTERED_COUNTS, 0)
    try:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                match = re.search(r"(train|validation)/(cats|dogs)/[^/]+\.jpe?g$", name, re.I)
                if match:
                    counts[f"{match[1].lower()}/{match[2].lower()}"] += 1
    except zipfile.BadZipFile:
        counts = {}
    if counts != FILTERED_COUNTS:
        raise DownloadError(
            f"{archive.name} does not hold the expected images ({FILTERED_COUNTS}); "
            f"found {counts or 'no readable zip'}."
        )


def download_sample(target: Path, url: str | None = None, sha256: str | None = None) -> DataSource:
    """Source d: TensorFlow's public sample, resumable, checked by its contents (and sha256 if given) (notebook 01)."""
    url = url or config.sample_url(SAMPLE_URL)
    archive = download(url, Path(target) / f"{FILTERED}.zip", sha256=sha256)
    try:
        check_filtered_zip(archive)
    except DownloadError:
        bad = archive.with_name(archive.name + ".bad")
        archive.replace(bad)
        raise DownloadError(
            f"The file downloaded from {url} is not TensorFlow's cats_and_dogs_filtered.zip; "
            f"it was kept as {bad.name} for you to inspect. Check the URL ({SAMPLE_URL_VARIABLE})."
        ) from None
    return DataSource("download", Path(target), [archive])


def locate_data(allow_kaggle: bool = True, allow_download: bool = True,
                say: Callable[[str], object] = print) -> DataSource:
    """Find the data by trying sources a-d in order; raise DataNotFound listing them all (notebook 01)."""
    folder = config.data_override()
    if folder is not None:
        if not folder.exists():
            raise DataNotFound(f"{DATA_VARIABLE} points at {folder}, which does not exist. Fix or unset it.")
        source = _source("CATSDOGS_DATA", folder)
        if source is None:
            raise DataNotFound(
                f"{DATA_VARIABLE} points at {folder}, which holds none of train.zip, test.zip, "
                f"{COMPETITION_ZIP}, train/ with images, {FILTERED}.zip or {FILTERED}/."
            )
        return source
    raw = config.raw_dir()
    source = _source("data/raw", raw)
    if source:
        return source
    problems = []
    if allow_kaggle:
        source = download_from_kaggle(raw, say=say)
        if source:
            return source
        if not kaggle_program():
            problems.append("the kaggle CLI was not found")
        elif not credentials_source():
            problems.append("no Kaggle credentials (~/.kaggle/kaggle.json) were found")
        else:
            problems.append("the kaggle download failed (see above)")
    if allow_download:
        say(f"Downloading TensorFlow's public sample ({FILTERED}.zip, 3,000 images) ...")
        try:
            return download_sample(raw)
        except DownloadError as error:
            problems.append(str(error))
    raise DataNotFound(
        "No cats-vs-dogs images were found. Provide them in one of these ways:\n"
        f"  a. set {DATA_VARIABLE} to a folder holding Kaggle's train.zip (and test.zip, "
        f"sample_submission.csv) or {COMPETITION_ZIP}, or {FILTERED}.zip;\n"
        f"  b. put those files in data/raw/ in this project;\n"
        f"  c. install Kaggle credentials (~/.kaggle/kaggle.json), accept the rules at "
        f"https://www.kaggle.com/competitions/{COMPETITION}/rules, and run again (the kaggle CLI "
        "downloads the data);\n"
        f"  d. connect to the internet and run again ({FILTERED}.zip is downloaded from {SAMPLE_URL}).\n"
        + ("Tried: " + "; ".join(problems) + "." if problems else "")
    )
