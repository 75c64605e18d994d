"""Test-session set-up shared by unit tests and nbval notebook runs.

nbval's kernels inherit this process's environment, so the run profile and data location set
here reach the notebooks too.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()

os.environ.setdefault("CATSDOGS_PROFILE", "smoke")
os.environ.setdefault("CATSDOGS_HEADLESS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
if (SHARED_DATA / "dogs-vs-cats-sample").is_dir():
    os.environ.setdefault("CATSDOGS_DATA", str(SHARED_DATA / "dogs-vs-cats-sample"))


def _tensorboard_info_dir() -> Path:
    return Path(tempfile.gettempdir()) / ".tensorboard-info"


def _stop_tensorboards(started_after: float | None = None) -> None:
    """Stop TensorBoard servers (started by this session when a time is given) and their records."""
    import psutil

    for proc in psutil.process_iter(["cmdline", "create_time"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "tensorboard" not in cmdline or "pytest" in cmdline:
                continue
            if started_after is not None and proc.info["create_time"] < started_after:
                continue
            proc.terminate()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    # A record left by a killed kernel makes the next %tensorboard reuse a dead server.
    shutil.rmtree(_tensorboard_info_dir(), ignore_errors=True)


def pytest_sessionstart(session):
    import time

    session.config._catsdogs_started = time.time()
    shutil.rmtree(_tensorboard_info_dir(), ignore_errors=True)


def pytest_sessionfinish(session, exitstatus):
    _stop_tensorboards(getattr(session.config, "_catsdogs_started", None))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data samples beside the project (../shared/data)."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the real data samples in ../shared/data (looked in {SHARED_DATA}).")
        pytest.skip("../shared/data (the real data samples) is not beside this project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def manifest(shared_data):
    """The smoke-profile manifest of the shared Kaggle sample, built once per session."""
    from utils.dataset import load_manifest

    return load_manifest("smoke")
