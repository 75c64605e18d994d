"""utils.data.download and source d, against a real server on 127.0.0.1 serving the shared files."""
import socket

import pytest

from tests.http_server import FileServer
from utils.data.download import DownloadError, download, sha256_of
from utils.data.sources import DataNotFound, download_sample, locate_data

FILTERED = "cats-and-dogs-filtered/cats_and_dogs_filtered.zip"


@pytest.fixture(scope="module")
def filtered_zip(shared_data):
    return shared_data / FILTERED


@pytest.fixture(scope="module")
def expected_sha(shared_data):
    line = (shared_data / "cats-and-dogs-filtered" / "SHA256SUMS").read_text().split()
    return line[0]


def test_download_complete_file_with_checksum(tmp_path, filtered_zip, expected_sha):
    with FileServer({"f.zip": filtered_zip}) as server:
        target = download(f"{server.url}/f.zip", tmp_path / "f.zip", sha256=expected_sha)
    assert sha256_of(target) == expected_sha
    assert not (tmp_path / "f.zip.part").exists()


def test_interrupted_download_resumes_with_range(tmp_path, filtered_zip, expected_sha):
    with FileServer({"f.zip": filtered_zip}, cut_after=5_000_000) as server:
        with pytest.raises(DownloadError, match="run again to resume"):
            download(f"{server.url}/f.zip", tmp_path / "f.zip")
        part = tmp_path / "f.zip.part"
        assert part.stat().st_size == 5_000_000
        assert not (tmp_path / "f.zip").exists()
        download(f"{server.url}/f.zip", tmp_path / "f.zip", sha256=expected_sha)
        assert server.requests[-1]["range"] == "bytes=5000000-"
    assert sha256_of(tmp_path / "f.zip") == expected_sha


def test_checksum_mismatch_deletes_the_download(tmp_path, filtered_zip):
    with FileServer({"f.zip": filtered_zip}) as server:
        with pytest.raises(DownloadError, match="sha256"):
            download(f"{server.url}/f.zip", tmp_path / "f.zip", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_explained(tmp_path, filtered_zip):
    with FileServer({"f.zip": filtered_zip}) as server:
        with pytest.raises(DownloadError, match="HTTP 404"):
            download(f"{server.url}/missing.zip", tmp_path / "f.zip")


def test_sample_download_checked_by_contents(tmp_path, filtered_zip, monkeypatch):
    with FileServer({"cats_and_dogs_filtered.zip": filtered_zip}) as server:
        monkeypatch.setenv("CATSDOGS_SAMPLE_URL", f"{server.url}/cats_and_dogs_filtered.zip")
        source = download_sample(tmp_path)
    assert source.kind == "download"
    assert source.items == [tmp_path / "cats_and_dogs_filtered.zip"]


def test_sample_download_of_the_wrong_archive_is_refused_and_kept(tmp_path, shared_data, monkeypatch):
    wrong = shared_data / "dogs-vs-cats-sample" / "test.zip"
    with FileServer({"x.zip": wrong}) as server:
        monkeypatch.setenv("CATSDOGS_SAMPLE_URL", f"{server.url}/x.zip")
        with pytest.raises(DownloadError, match="not TensorFlow's cats_and_dogs_filtered.zip"):
            download_sample(tmp_path)
    assert (tmp_path / "cats_and_dogs_filtered.zip.bad").is_file()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_data_and_no_network_lists_every_way(tmp_path, monkeypatch):
    monkeypatch.delenv("CATSDOGS_DATA", raising=False)
    monkeypatch.setenv("CATSDOGS_HOME", str(tmp_path))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))  # no credentials
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CATSDOGS_SAMPLE_URL", f"http://127.0.0.1:{_closed_port()}/x.zip")
    with pytest.raises(DataNotFound) as error:
        locate_data(say=lambda *_: None)
    message = str(error.value)
    for step in ("a. set CATSDOGS_DATA", "b. put those files in data/raw", "c. install Kaggle", "d. connect"):
        assert step in message
    assert "Could not reach" in message
