"""Bad input gets a clear message, is listed and left out, and never crashes or loses files."""
import io
import os
import zipfile

import pytest
from PIL import Image

from utils.data.archives import ArchiveError, extract, unsafe_member
from utils.data.dataset import NoLabelledImages, prepare_dataset
from utils.data.images import inspect_image
from utils.data.sources import DataSource

quiet = dict(say=lambda *_: None)


@pytest.fixture(scope="module")
def real_jpeg(shared_data):
    with zipfile.ZipFile(shared_data / "dogs-vs-cats-sample" / "train.zip") as zf:
        return zf.read("train/cat.0.jpg")


@pytest.fixture(scope="module")
def real_dog(shared_data):
    with zipfile.ZipFile(shared_data / "dogs-vs-cats-sample" / "train.zip") as zf:
        return zf.read("train/dog.0.jpg")


def test_a_good_jpeg_passes(tmp_path, real_jpeg):
    (tmp_path / "cat.0.jpg").write_bytes(real_jpeg)
    check = inspect_image(tmp_path / "cat.0.jpg")
    assert check.ok and (check.width, check.height) == (200, 200) and len(check.sha256) == 64


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"just some text, not a picture\n", "not an image"),
        ("truncated", "corrupt or truncated JPEG"),
        ("corrupt", "corrupt or truncated JPEG"),
        ("png", "not a JPEG (a PNG image)"),
    ],
)
def test_bad_files_are_named_with_a_reason(tmp_path, real_jpeg, content, reason):
    if content == "truncated":
        content = real_jpeg[: len(real_jpeg) // 2]
    elif content == "corrupt":
        content = real_jpeg[:600] + bytes(range(256)) * 8 + real_jpeg[2648:]
    elif content == "png":
        buffer = io.BytesIO()
        Image.open(io.BytesIO(real_jpeg)).save(buffer, "PNG")
        content = buffer.getvalue()
    path = tmp_path / "cat.1.jpg"
    path.write_bytes(content)
    check = inspect_image(path)
    assert not check.ok
    assert check.reason.startswith(reason)


def test_dataset_lists_and_excludes_bad_files_and_accepts_upper_case(tmp_path, real_jpeg, real_dog, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path / "home"))
    folder = tmp_path / "train"
    folder.mkdir()
    for i in range(6):
        (folder / f"cat.{i}.jpg").write_bytes(real_jpeg)  # six copies: one duplicate group
    (folder / "DOG.1.JPG").write_bytes(real_dog)  # upper-case name and extension
    (folder / "dog.2.jpg").write_text("<html>not found</html>")
    (folder / "dog.3.jpg").write_bytes(b"")
    (folder / "dog.4.jpg").write_bytes(real_jpeg[:1000])
    (folder / "notes.txt").write_text("hello")
    source = DataSource("CATSDOGS_DATA", tmp_path, [folder])
    report = prepare_dataset("smoke", source=source, **quiet)
    bad = dict(zip(report.bad_files["path"].map(os.path.basename), report.bad_files["reason"]))
    assert set(bad) == {"dog.2.jpg", "dog.3.jpg", "dog.4.jpg", "notes.txt"}
    assert bad["dog.3.jpg"] == "empty file"
    assert bad["notes.txt"].startswith("name not recognised")
    assert "DOG.1.JPG" in set(report.frame["path"].map(os.path.basename))
    assert (folder / "dog.2.jpg").exists()  # reported, never deleted
    # the six identical cats form one duplicate group...
    assert report.duplicates["count"].tolist() == [6]


def test_zip_with_parent_members_is_refused_before_writing(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train/cat.0.jpg", b"x")
        zf.writestr("../../outside.txt", b"owned")
    with pytest.raises(ArchiveError, match="outside the target folder"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "outside.txt").exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "..\\windows.txt", "C:/x.jpg", "a/../../b.jpg"])
def test_unsafe_member_names(name):
    assert unsafe_member(name)


@pytest.mark.parametrize("name", ["train/cat.0.jpg", "test/1.jpg", "a..b.jpg"])
def test_safe_member_names(name):
    assert not unsafe_member(name)


def test_empty_zip_and_non_zip_are_explained(tmp_path):
    empty = tmp_path / "train.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(ArchiveError, match="is empty"):
        extract(empty, tmp_path / "out")
    fake = tmp_path / "test.zip"
    fake.write_text("<html>login page</html>")
    with pytest.raises(ArchiveError, match="not a zip archive"):
        extract(fake, tmp_path / "out")


def test_wrong_archive_without_labelled_images(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path / "home"))
    test_zip = shared_data / "dogs-vs-cats-sample" / "test.zip"
    source = DataSource("CATSDOGS_DATA", tmp_path, [test_zip])
    with pytest.raises(NoLabelledImages, match="No labelled images were found"):
        prepare_dataset("smoke", source=source, **quiet)


def test_folder_with_no_labelled_images(tmp_path, real_jpeg, monkeypatch):
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path / "home"))
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(real_jpeg)
    with pytest.raises(NoLabelledImages, match="cat.0.jpg"):
        prepare_dataset("smoke", source=DataSource("CATSDOGS_DATA", tmp_path, [folder]), **quiet)


def test_extraction_is_idempotent(tmp_path, shared_data):
    archive = shared_data / "dogs-vs-cats-sample" / "test.zip"
    target = extract(archive, tmp_path / "test")
    files = sorted(target.rglob("*.jpg"))
    stamps = [f.stat().st_mtime_ns for f in files]
    (target / "my-notes.txt").write_text("kept")  # a second run must not wipe the folder
    extract(archive, tmp_path / "test")
    assert sorted(target.rglob("*.jpg")) == files
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert (target / "my-notes.txt").read_text() == "kept"
    assert len(files) == 1000
