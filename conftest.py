"""Test-session set-up shared by unit tests and nbval notebook runs.

nbval's kernels inherit this process's environment, so everything set here reaches the
notebooks too:

* ``CATSDOGS_HOME`` is a temporary folder made for this session (removed at its end): the
  tests never read or write the learner's ``data/``, ``models/``, ``logs/`` or
  ``submission.csv`` (``tests/test_workspace.py`` checks it);
* ``TMPDIR`` is a folder inside it, so TensorBoard's server records (``.tensorboard-info``)
  of this session are ours alone: at the end the servers they name are stopped by process
  id, never by matching a program name;
* the run profile (``smoke``) and the data location (the shared real sample).

Set ``CATSDOGS_KEEP_TEST_HOME=1`` to keep the temporary home for a look after the run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()

# Before anything imports utils.config or starts a kernel.
SESSION_ROOT = Path(tempfile.mkdtemp(prefix="catsdogs-tests-"))
SESSION_HOME = SESSION_ROOT / "home"
SESSION_TMP = SESSION_ROOT / "tmp"
SESSION_HOME.mkdir()
SESSION_TMP.mkdir()
os.environ["CATSDOGS_HOME"] = str(SESSION_HOME)
os.environ["TMPDIR"] = str(SESSION_TMP)
tempfile.tempdir = None  # tempfile.gettempdir() reads TMPDIR again

os.environ.setdefault("CATSDOGS_PROFILE", "smoke")
os.environ.setdefault("CATSDOGS_HEADLESS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.pop("CATSDOGS_SUBMIT", None)  # never submit to Kaggle from a test
if (SHARED_DATA / "dogs-vs-cats-sample").is_dir():
    os.environ.setdefault("CATSDOGS_DATA", str(SHARED_DATA / "dogs-vs-cats-sample"))


def tensorboard_pids(root: Path = SESSION_ROOT) -> list[int]:
    """Process ids of the TensorBoard servers whose records lie under ``root`` (this session's)."""
    pids = []
    for record in root.rglob(".tensorboard-info/pid-*.info"):
        try:
            pids.append(int(record.stem.removeprefix("pid-")))
        except ValueError:
            continue
    return pids


def stop_tensorboards(pids: list[int]) -> list[int]:
    """Stop the TensorBoard servers with these process ids (checked to be TensorBoard); return those stopped."""
    import psutil

    stopped = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if "tensorboard" not in " ".join(proc.cmdline()):
                continue  # the id was reused by another program: leave it alone
            proc.terminate()
            try:
                proc.wait(10)
            except psutil.TimeoutExpired:
                proc.kill()
            stopped.append(pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return stopped


# The learner's workspace in this checkout: compared at the end of the session.
WORKSPACE = ("data", "models", "logs", "submission.csv", "docs/images")


def workspace_state(root: Path = ROOT) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file under the learner's folders."""
    state = {}
    for name in WORKSPACE:
        top = root / name
        files = [top] if top.is_file() else (p for p in top.rglob("*") if p.is_file()) if top.is_dir() else []
        for path in files:
            stat = path.stat()
            state[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return state


def pytest_sessionstart(session):
    session.config._catsdogs_workspace = workspace_state()


def pytest_sessionfinish(session, exitstatus):
    stop_tensorboards(tensorboard_pids())
    before = getattr(session.config, "_catsdogs_workspace", None)
    if before is not None:
        after = workspace_state()
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if changed:
            # On a developer's machine a training run of their own may write models/ and logs/
            # meanwhile: a warning there, a failure in CI (nothing else runs there).
            print(f"\n{'ERROR' if os.environ.get('CI') else 'Warning'}: the learner's workspace changed during "
                  f"the tests ({len(changed)} file(s), e.g. {changed[:5]}): a test wrote outside CATSDOGS_HOME, "
                  "or something else ran meanwhile.")
            if os.environ.get("CI"):
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if os.environ.get("CATSDOGS_KEEP_TEST_HOME", "") not in ("", "0"):
        print(f"\nThe tests' home was kept: {SESSION_HOME}")
        return
    shutil.rmtree(SESSION_ROOT, ignore_errors=True)


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
    """The smoke-profile manifest of the shared Kaggle sample, built once per session (in the session's home)."""
    from utils.data.dataset import load_manifest

    return load_manifest("smoke")


CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by .ci/run (never a browser download)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium for the real-browser tests (notebook 07's TensorBoard, the slide decks)."""
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium).")
        pytest.skip(f"No {CHROMIUM}: install Debian's chromium (apt-get install -y chromium) to run the browser test.")
    return CHROMIUM


@pytest.fixture
def fake_kaggle(tmp_path, monkeypatch):
    """A `kaggle` program on PATH that records its arguments (one a line) and says it submitted, and an
    empty credentials folder for it: ``(program, record, config)``. Never the real CLI, never the network."""
    import stat
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "kaggle-args.txt"
    program = bin_dir / "kaggle"
    program.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(record)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n"
        "print('Successfully submitted to Dogs vs. Cats Redux')\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "kaggle-config"
    config.mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "CATSDOGS_SUBMIT"):
        monkeypatch.delenv(name, raising=False)
    return program, record, config
