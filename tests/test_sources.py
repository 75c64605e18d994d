"""Each data source (a-c) and the one internal form, on the real shared data."""
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from utils.data.dataset import load_manifest, prepare_dataset
from utils.data.sources import COMPETITION_ZIP, DataNotFound, locate_data

quiet = dict(say=lambda *_: None)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty project home (data/, models/, logs/) and no data variable."""
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CATSDOGS_DATA", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def kaggle_sample(shared_data):
    return shared_data / "dogs-vs-cats-sample"


def test_a_kaggle_zips_become_the_internal_form(home, kaggle_sample, monkeypatch):
    monkeypatch.setenv("CATSDOGS_DATA", str(kaggle_sample))
    report = prepare_dataset("smoke", **quiet)
    assert report.source.kind == "CATSDOGS_DATA"
    frame = report.frame
    assert set(frame["split"]) == {"train", "validation", "test"}
    labelled = frame[frame["split"] != "test"]
    assert set(labelled["label"]) == {0, 1}
    assert all(Path(p).name.startswith("cat.") for p in labelled.loc[labelled["label"] == 0, "path"])
    test = frame[frame["split"] == "test"]
    assert (test["label"] == -1).all()
    assert test["id"].tolist() == list(range(1, 41))  # numeric ids, numerically sorted
    assert (home / "data" / "sample_submission.csv").is_file()
    assert (home / "data" / "manifest-smoke.csv").is_file()


def test_a_extracted_folders_are_used_in_place(home, kaggle_sample, tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    for name in ("train", "test"):
        with zipfile.ZipFile(kaggle_sample / f"{name}.zip") as zf:
            members = [m for m in zf.namelist() if m.endswith(".jpg")][:60]
            zf.extractall(folder, members)
    monkeypatch.setenv("CATSDOGS_DATA", str(folder))
    report = prepare_dataset("smoke", **quiet)
    assert len(report.files) == 120
    assert not (home / "data" / "extracted").exists()  # nothing copied
    assert report.frame["filepath"].str.startswith(str(folder)).all()


def test_a_filtered_zip_with_class_folders(home, shared_data, monkeypatch):
    monkeypatch.setenv("CATSDOGS_DATA", str(shared_data / "cats-and-dogs-filtered"))
    report = prepare_dataset("smoke", **quiet)
    frame = report.frame
    assert (frame["split"] != "test").all()
    cats = frame[frame["label"] == 0]["path"]
    assert cats.str.contains("/cats/").all()
    assert frame["label"].value_counts().to_dict() == {0: 120, 1: 120}


def test_a_competition_zip_holding_all_three(home, kaggle_sample, tmp_path, monkeypatch):
    folder = tmp_path / "download"
    folder.mkdir()
    with zipfile.ZipFile(folder / COMPETITION_ZIP, "w", zipfile.ZIP_STORED) as zf:
        for name in ("train.zip", "test.zip", "sample_submission.csv"):
            zf.write(kaggle_sample / name, name)
    monkeypatch.setenv("CATSDOGS_DATA", str(folder))
    report = prepare_dataset("smoke", **quiet)
    assert report.frame["split"].value_counts().to_dict() == {"train": 180, "validation": 60, "test": 40}
    assert (home / "data" / "sample_submission.csv").is_file()


def test_a_missing_folder_is_explained(home, tmp_path, monkeypatch):
    monkeypatch.setenv("CATSDOGS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFound, match="does not exist"):
        locate_data(**quiet)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("CATSDOGS_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataNotFound, match="holds none of train.zip"):
        locate_data(**quiet)


def test_b_files_in_data_raw(home, kaggle_sample):
    raw = home / "data" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(kaggle_sample / "train.zip", raw)
    source = locate_data(**quiet)
    assert source.kind == "data/raw"
    assert [p.name for p in source.items] == ["train.zip"]


def _fake_kaggle(folder: Path, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "kaggle"
    program.write_text(f"#!{sys.executable}\n{body}")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)


def test_c_kaggle_cli_downloads_the_competition_zip(home, kaggle_sample, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    log = tmp_path / "kaggle-args.txt"
    _fake_kaggle(bin_dir, f"""
import sys, zipfile, pathlib
pathlib.Path({str(log)!r}).write_text(" ".join(sys.argv[1:]))
target = pathlib.Path(sys.argv[sys.argv.index("-p") + 1])
with zipfile.ZipFile(target / "dogs-vs-cats-redux-kernels-edition.zip", "w") as zf:
    for name in ("train.zip", "test.zip", "sample_submission.csv"):
        zf.write(pathlib.Path({str(kaggle_sample)!r}) / name, name)
""")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KAGGLE_USERNAME", "learner")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    source = locate_data(allow_download=False, **quiet)
    assert source.kind == "kaggle"
    assert log.read_text().startswith("competitions download -c dogs-vs-cats-redux-kernels-edition -p ")
    assert [p.name for p in source.items] == [COMPETITION_ZIP]


def test_c_kaggle_refusal_says_to_accept_the_rules(home, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _fake_kaggle(bin_dir, "import sys\nprint('403 - Forbidden - You must accept this competition', file=sys.stderr)\nsys.exit(1)\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KAGGLE_USERNAME", "learner")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    said = []
    with pytest.raises(DataNotFound, match="the kaggle download failed"):
        locate_data(allow_download=False, say=said.append)
    assert any("accept the competition rules" in s and "403" in s for s in said)


def test_load_manifest_builds_what_is_missing(home, kaggle_sample, monkeypatch):
    monkeypatch.setenv("CATSDOGS_DATA", str(kaggle_sample))
    frame = load_manifest("smoke")
    assert len(frame) == 280
    again = load_manifest("smoke")
    assert again.equals(frame)


def test_changed_data_is_explained_without_a_local_path(home, kaggle_sample, tmp_path, monkeypatch, capsys):
    from utils.data.dataset import source_changed

    copy = tmp_path / "copy" / "dogs-vs-cats-sample"
    copy.mkdir(parents=True)
    for name in ("train.zip", "test.zip", "sample_submission.csv"):
        shutil.copy(kaggle_sample / name, copy / name)
    monkeypatch.setenv("CATSDOGS_DATA", str(copy))
    load_manifest("smoke")
    assert source_changed("smoke") is None
    os.utime(copy / "train.zip", (1, 1))  # the same name, other files (e.g. the folder copied again)
    why = source_changed("smoke")
    assert why == "the files in dogs-vs-cats-sample changed since it was built"
    other = tmp_path / "elsewhere" / "dogs-vs-cats-sample"  # a folder of the same name in another place
    shutil.copytree(copy, other)
    monkeypatch.setenv("CATSDOGS_DATA", str(other))
    assert source_changed("smoke") == "it was built from another folder named dogs-vs-cats-sample"
    load_manifest("smoke")
    assert str(tmp_path) not in capsys.readouterr().out
