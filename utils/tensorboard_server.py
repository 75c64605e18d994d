"""Start, list and stop TensorBoard inside a notebook (introduced in notebook 07).

``start_tensorboard()`` does what ``%load_ext tensorboard`` + ``%tensorboard --logdir logs``
do (it calls the same ``tensorboard.manager`` / ``tensorboard.notebook`` code), plus:

* it finds the ``tensorboard`` program even when the virtual environment's ``bin/`` is not on
  ``PATH`` (a kernel started from another environment, a JupyterHub kernelspec): it uses
  ``TENSORBOARD_BINARY`` if you set it, else ``tensorboard`` on ``PATH``, else the one next to
  the running Python, and sets ``TENSORBOARD_BINARY`` so the ``%tensorboard`` magic finds it too;
* it picks a free port, waits a bounded time (never hangs) and forgets records of servers
  that died (a stale record would make the next start "reuse" a dead server);
* in a non-interactive run (``CATSDOGS_HEADLESS=1``: ``make series``, nbval, CI) it starts
  nothing and says so.

Behind JupyterHub or on a remote machine the browser cannot reach ``localhost:<port>`` of the
server. Install ``jupyter-server-proxy`` and set, before starting::

    TENSORBOARD_PROXY_URL=/user/<you>/proxy/%PORT%/

TensorBoard's notebook frame then loads that URL (``%PORT%`` is replaced by the port).
"""
from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from utils import paths
from utils.progress import headless

BINARY_VARIABLE = "TENSORBOARD_BINARY"
PROXY_VARIABLE = "TENSORBOARD_PROXY_URL"
START_TIMEOUT_SECONDS = 60

# Servers started by this Python process (the notebook's kernel): port -> pid.
_started: dict[int, int] = {}


def tensorboard_binary() -> str | None:
    """The ``tensorboard`` program to run: $TENSORBOARD_BINARY, on PATH, or beside this Python."""
    explicit = os.environ.get(BINARY_VARIABLE)
    if explicit:
        return explicit
    on_path = shutil.which("tensorboard")
    if on_path:
        return on_path
    beside = Path(sys.executable).parent / ("tensorboard.exe" if os.name == "nt" else "tensorboard")
    return str(beside) if beside.is_file() else None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
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
    """Remove records of TensorBoard servers that are no longer running; return how many."""
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


def start_tensorboard(logdir=None, port: int | None = None, height: int = 800, timeout: float = START_TIMEOUT_SECONDS):
    """Start TensorBoard on ``logdir`` (default ``logs/``) and show it in the notebook.

    Returns the server's ``TensorBoardInfo`` (``.port``, ``.pid``), or None when no server
    was started (a headless run, or TensorBoard could not start: the message says why).
    """
    logdir = Path(logdir) if logdir is not None else paths.logs_dir()
    if headless():
        print(
            "Non-interactive run (CATSDOGS_HEADLESS=1): no TensorBoard server was started. "
            "Open this notebook in JupyterLab to see TensorBoard here, or run "
            f"`tensorboard --logdir {paths.relative(logdir)}` in a terminal."
        )
        return None
    binary = tensorboard_binary()
    if binary is None:
        print(
            "Could not find the `tensorboard` program: install it (pip install tensorboard) "
            f"or set {BINARY_VARIABLE} to its path, then run this cell again."
        )
        return None
    os.environ[BINARY_VARIABLE] = binary  # the %tensorboard magic reads it too
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
        proxy = os.environ.get(PROXY_VARIABLE)
        where = proxy.replace("%PORT%", str(info.port)) if proxy else f"port {info.port}"
        print(f"TensorBoard on {paths.relative(logdir)}/ at {where} (pid {info.pid}).")
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
    """Stop TensorBoard servers and remove their records; return the ports stopped.

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
