"""TensorBoard: start, list and stop its server in a notebook; read its event files (notebook 07).

``start_tensorboard()`` does what ``%load_ext tensorboard`` + ``%tensorboard --logdir logs``
do (it calls the same ``tensorboard.manager`` / ``tensorboard.notebook`` code), plus: it finds
the ``tensorboard`` program even when the virtual environment's ``bin/`` is not on ``PATH``
(``TENSORBOARD_BINARY`` if set, else ``tensorboard`` on ``PATH``, else the one next to the
running Python), picks a free port and waits a bounded time (never hangs).

:func:`read_scalars` / :func:`epoch_metrics` / :func:`read_hparams` read the event files every
run writes (``logs/<run>/train``, ``logs/<run>/validation``, the HParams summary in
``logs/<run>``), so a notebook can show a static comparison visible everywhere (GitHub, CI, a
PDF); :mod:`utils.runs` ranks the runs with them. TF2 writes scalars as *tensor* summaries,
not the TF1 ``simple_value`` scalars, so the reader asks ``EventAccumulator`` for tensors (and
still accepts old-style scalars).
"""
from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from utils import config
from utils.config import headless

if TYPE_CHECKING:
    from tensorboard.manager import TensorBoardInfo


BINARY_VARIABLE = config.TENSORBOARD_BINARY_VARIABLE
START_TIMEOUT_SECONDS = 60


# Servers started by this Python process (the notebook's kernel): port -> pid.
_started: dict[int, int] = {}


def tensorboard_binary() -> str | None:
    """The ``tensorboard`` program to run: $TENSORBOARD_BINARY, on PATH, or beside this Python (notebook 07)."""
    explicit = config.tensorboard_binary_setting()
    if explicit:
        return explicit
    on_path = shutil.which("tensorboard")
    if on_path:
        return on_path
    beside = Path(sys.executable).parent / ("tensorboard.exe" if os.name == "nt" else "tensorboard")
    return str(beside) if beside.is_file() else None


def free_port() -> int:
    """A TCP port nobody listens on right now (notebook 07)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs (a stopped child of this process is reaped, not alive)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reaps our own child once it exited
        if finished == pid:
            return False
    except (ChildProcessError, OSError):
        pass  # not our child
    try:
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:  # psutil.NoSuchProcess, AccessDenied
        return False


def _info_file(pid: int) -> Path:
    from tensorboard import manager

    return Path(manager._get_info_dir()) / f"pid-{pid}.info"


def forget_dead_servers() -> int:
    """Remove records of TensorBoard servers that are no longer running; return how many (notebook 07)."""
    from tensorboard import manager

    removed = 0
    for info in manager.get_all():
        if not _alive(info.pid):
            _info_file(info.pid).unlink(missing_ok=True)
            removed += 1
    return removed


def list_tensorboards() -> list:
    """The TensorBoard servers running on this machine (``TensorBoardInfo`` records).

    ``tensorboard.notebook.list()`` prints the same list.
    """
    from tensorboard import manager

    forget_dead_servers()
    return manager.get_all()


def start_tensorboard(logdir: Path | str | None = None, port: int | None = None, height: int = 800,
                      timeout: float = START_TIMEOUT_SECONDS) -> TensorBoardInfo | None:
    """Start TensorBoard on ``logdir`` (default ``logs/``) and show it in the notebook.

    Returns the server's ``TensorBoardInfo`` (``.port``, ``.pid``), or None when no server
    was started (a headless run, or TensorBoard could not start: the message says why).
    """
    logdir = Path(logdir) if logdir is not None else config.logs_dir()
    if headless():
        print(
            "Non-interactive run (CATSDOGS_HEADLESS=1): no TensorBoard server was started. "
            "Open this notebook in JupyterLab to see TensorBoard here, or run "
            f"`tensorboard --logdir {config.relative(logdir)}` in a terminal."
        )
        return None
    binary = tensorboard_binary()
    if binary is None:
        print(
            "Could not find the `tensorboard` program: install it (pip install tensorboard) "
            f"or set {BINARY_VARIABLE} to its path, then run this cell again."
        )
        return None
    config.set_tensorboard_binary(binary)  # the %tensorboard magic reads it too
    logdir.mkdir(parents=True, exist_ok=True)
    forget_dead_servers()

    from tensorboard import manager, notebook

    try:  # TensorBoard shows the folder as given: "../logs" rather than a long absolute path
        shown = os.path.relpath(logdir)
    except ValueError:  # another drive on Windows
        shown = str(logdir)
    if shown.startswith(os.pardir + os.sep + os.pardir):
        shown = str(logdir)
    arguments = ["--logdir", shown, "--port", str(port or free_port()), "--reload_interval", "15"]
    result = manager.start(arguments, timeout=datetime.timedelta(seconds=timeout))
    if isinstance(result, (manager.StartLaunched, manager.StartReused)):
        info = result.info
        if isinstance(result, manager.StartLaunched):
            _started[info.port] = info.pid
        proxy = config.tensorboard_proxy()
        where = proxy.replace("%PORT%", str(info.port)) if proxy else f"port {info.port}"
        print(f"TensorBoard on {config.relative(logdir)}/ at {where} (pid {info.pid}).")
        notebook.display(port=info.port, height=height)
        return info
    if isinstance(result, manager.StartFailed):
        print(f"TensorBoard exited with code {result.exit_code}:\n{(result.stderr or '').strip()[-2000:]}")
    elif isinstance(result, manager.StartExecFailed):
        print(f"Could not run {binary!r}: {result.os_error}. Set {BINARY_VARIABLE} to the tensorboard program.")
    elif isinstance(result, manager.StartTimedOut):
        print(
            f"TensorBoard did not start within {timeout:.0f} s (pid {result.pid}); stopping it. "
            "Try again, or run `tensorboard --logdir logs` in a terminal."
        )
        _terminate(result.pid)
    return None


def _terminate(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_tensorboard(port: int | None = None, *, everything: bool = False) -> list[int]:
    """Stop TensorBoard servers and remove their records; return the ports stopped (notebook 07).

    By default stops the servers this kernel started (``port`` picks one of them).
    ``everything=True`` stops every server listed by :func:`list_tensorboards`.
    """
    import time

    if everything:
        targets = {info.port: info.pid for info in list_tensorboards()}
    else:
        targets = dict(_started)
    if port is not None:
        targets = {p: pid for p, pid in targets.items() if p == port}
    stopped = []
    for server_port, pid in targets.items():
        if _terminate(pid):
            stopped.append(server_port)
        _started.pop(server_port, None)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in targets.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in targets.values():
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _info_file(pid).unlink(missing_ok=True)
    return stopped


SPLITS = ("train", "validation")


SCALAR_COLUMNS = ["run", "split", "tag", "step", "value", "wall_time"]


def _accumulator(folder: Path):
    from tensorboard.backend.event_processing import event_accumulator

    # size_guidance 0 keeps every event (the default samples long runs down).
    acc = event_accumulator.EventAccumulator(
        str(folder),
        size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0},
    )
    acc.Reload()
    return acc


def read_run_scalars(run_dir: Path | str) -> pd.DataFrame:
    """Every scalar of one run as a tidy table: run, split, tag, step, value, wall_time (notebook 07)."""
    from tensorboard.util import tensor_util

    run_dir = Path(run_dir)
    rows = []
    for split in SPLITS:
        folder = run_dir / split
        if not folder.is_dir():
            continue
        acc = _accumulator(folder)
        tags = acc.Tags()
        for tag in tags.get("tensors", []):
            for event in acc.Tensors(tag):
                value = tensor_util.make_ndarray(event.tensor_proto)
                if value.size != 1 or not np.issubdtype(value.dtype, np.number):
                    continue  # images, histograms, text: not scalars
                rows.append((run_dir.name, split, tag, event.step, float(value.reshape(())), event.wall_time))
        for tag in tags.get("scalars", []):  # TF1-style summaries
            for event in acc.Scalars(tag):
                rows.append((run_dir.name, split, tag, event.step, float(event.value), event.wall_time))
    frame = pd.DataFrame(rows, columns=SCALAR_COLUMNS)
    return frame.sort_values(["split", "tag", "step"], kind="stable").reset_index(drop=True)


def read_scalars(logs_dir: Path | str | None = None, runs: Iterable[str] | None = None) -> pd.DataFrame:
    """The scalars of every run (or of ``runs``) under ``logs_dir`` in one tidy DataFrame (notebook 07)."""
    root = Path(logs_dir) if logs_dir is not None else config.logs_dir()
    if runs is None:
        runs = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    frames = [read_run_scalars(root / run) for run in runs]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=SCALAR_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def epoch_metrics(scalars: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch metrics laid out like Keras' history: run, epoch, loss, accuracy, val_loss, .. (notebook 07).

    The Keras callback names epoch scalars ``epoch_<metric>``; validation ones go to
    the ``validation`` folder and become ``val_<metric>`` here, as in ``history.csv``.
    """
    epochs = scalars[scalars["tag"].str.startswith("epoch_")].copy()
    if epochs.empty:
        return pd.DataFrame(columns=["run", "epoch"])
    metric = epochs["tag"].str.removeprefix("epoch_")
    epochs["metric"] = np.where(epochs["split"] == "validation", "val_" + metric, metric)
    table = epochs.pivot_table(index=["run", "step"], columns="metric", values="value", aggfunc="last")
    table = table.reset_index().rename(columns={"step": "epoch"})
    table.columns.name = None
    return table


def read_hparams(run_dir: Path | str) -> dict:
    """The hyperparameters a run logged with ``hp.hparams`` (the HParams dashboard's data) (notebook 07)."""
    from tensorboard.plugins.hparams import metadata

    run_dir = Path(run_dir)
    if not any(run_dir.glob("events.out.tfevents.*")):
        return {}
    acc = _accumulator(run_dir)
    values = {}
    for tag, content in acc.PluginTagToContent(metadata.PLUGIN_NAME).items():
        if tag != metadata.SESSION_START_INFO_TAG:
            continue
        info = metadata.parse_session_start_info_plugin_data(content)
        for name, value in info.hparams.items():
            kind = value.WhichOneof("kind")
            values[name] = getattr(value, kind) if kind else None
    return values
