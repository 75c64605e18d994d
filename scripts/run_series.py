"""Execute the notebook series headless, in order, and save each with its outputs (``make series``).

Usage: python scripts/run_series.py [NOTEBOOK ...] [--profile NAME] [--output-dir DIR | --in-place | --no-save]

Each notebook runs on a fresh kernel in the run profile given (default: ``default``). The
executed, normalised notebook (see normalise_notebook.py) goes to ``build/executed/`` (git
ignores it), so a learner's run never changes a tracked file. ``--in-place`` writes it back
over the committed notebook instead: that is the maintainers' ``make refresh-notebooks``.
Stops at the first notebook that fails and prints the error's message (not a traceback).

A run that saves to an output folder also writes how long each notebook took to
``<output dir>/timings.json`` (``--no-save`` writes nothing). ``--in-place``
and ``--record-timings`` (maintainers: ``make refresh-timings PROFILE=smoke``) also record them
in ``notebooks/timings.json`` and rewrite the notebooks' header line and the README's table from
it (see series_timings.py), so the published times always come from a run.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from normalise_notebook import normalise  # noqa: E402
import series_timings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # utils, when the project is not pip-installed
from utils.config import pin_relative_paths  # noqa: E402

OUTPUT_DIR = ROOT / "build" / "executed"
KERNEL_LOGS = ROOT / "build" / "kernel-logs"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failure_message(error: CellExecutionError) -> str:
    """The error's own message ("DataNotFound: No cats-vs-dogs images were found..."), no traceback."""
    name = ANSI.sub("", getattr(error, "ename", "") or "Error")
    value = ANSI.sub("", getattr(error, "evalue", "") or "").strip()
    return f"{name}: {value}" if value else name


def kernel_manager():
    """A kernel manager on IPC sockets where the system has them: no "running over TCP
    without encryption" warning, and nothing listens on a network port."""
    import uuid

    from jupyter_client.manager import KernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    if os.name != "posix":
        return KernelManager(kernel_name="python3")
    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    # An absolute socket path: the kernel runs in the notebook's folder, this script may not.
    return KernelManager(kernel_name="python3", transport="ipc", ip=str(runtime / f"series-{uuid.uuid4().hex[:12]}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--profile", default=os.environ.get("CATSDOGS_PROFILE", "default"))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output-dir", type=Path, default=OUTPUT_DIR,
                       help="where the executed notebooks go (default: build/executed/, ignored by git)")
    where.add_argument("--in-place", action="store_true",
                       help="maintainers: overwrite the committed notebooks (make refresh-notebooks)")
    where.add_argument("--no-save", action="store_true", help="execute only; write nothing")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("--record-timings", action="store_true",
                        help="maintainers: record the times in notebooks/timings.json and rewrite the notebook "
                             "headers and README table from it (always on with --in-place)")
    args = parser.parse_args(argv)

    from utils.config import PROFILES

    if args.profile.strip().lower() not in PROFILES:
        print(f"error: unknown run profile {args.profile!r}: choose one of {', '.join(PROFILES)} "
              "(make series PROFILE=smoke).", file=sys.stderr)
        return 2
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in notebooks if not Path(p).is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}.", file=sys.stderr)
        return 2
    os.environ["CATSDOGS_PROFILE"] = args.profile
    os.environ["CATSDOGS_HEADLESS"] = "1"
    pin_relative_paths()  # the kernels run in the notebooks' folder, not where the command was typed
    destination = "in place" if args.in_place else "not saved" if args.no_save else \
        f"saved to {os.path.relpath(args.output_dir)}/"
    print(f"Running {len(notebooks)} notebook(s) in the {args.profile!r} profile ({destination}).", flush=True)
    timings = []
    record = args.in_place or args.record_timings
    machine = machine_name()
    for path in notebooks:
        path = Path(path).resolve()
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, km=kernel_manager(), timeout=args.timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        print(f"- {path.name} ...", end=" ", flush=True)
        start = time.perf_counter()
        # The kernel's own stderr (TensorFlow's C++ start-up lines, the kernel's log) goes to a
        # log file, not the terminal: what a cell prints is in the executed notebook.
        KERNEL_LOGS.mkdir(parents=True, exist_ok=True)
        kernel_log = KERNEL_LOGS / f"{path.stem}.kernel.log"
        try:
            with open(kernel_log, "wb") as log:
                client.execute(stderr=log)
        except CellExecutionError as error:
            print("FAILED")
            print(f"\n{path.name} stopped with {failure_message(error)}", file=sys.stderr)
            print(f"Fix that and run again (open {path.name} in JupyterLab to see the cell); "
                  "nothing was written for this notebook.", file=sys.stderr)
            return 1
        except RuntimeError as error:  # the kernel died (out of memory?) or did not start
            print("FAILED")
            print(f"\n{path.name}: the kernel stopped ({error}); its log is {os.path.relpath(kernel_log)}.",
                  file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted")
            print(f"Interrupted during {path.name}; the notebooks finished before it were saved.", file=sys.stderr)
            return 130
        seconds = time.perf_counter() - start
        timings.append((path.name, seconds))
        print(f"done in {seconds / 60:.1f} min", flush=True)
        if record:  # this notebook's time, kept even if a later notebook fails
            recorded = series_timings.record(series_timings.load(), args.profile, {path.stem: seconds}, machine)
            series_timings.save(recorded)
        if args.in_place:
            series_timings.update_header(path, recorded, nb=nb)
            nbformat.write(normalise(nb), path)
        elif not args.no_save:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(normalise(nb), args.output_dir / path.name)
            run_times = series_timings.record({}, args.profile, {Path(n).stem: t for n, t in timings}, machine)
            series_timings.save(run_times, args.output_dir / "timings.json")
    print("\nTime to run each notebook (profile %s):" % args.profile)
    for name, seconds in timings:
        print(f"  {name:45s} {seconds / 60:6.1f} min")
    if record:
        all_notebooks = sorted(series_timings.TIMINGS.parent.glob("[0-9][0-9]_*.ipynb"))
        changed = series_timings.refresh(all_notebooks, series_timings.load())
        print("Recorded in notebooks/timings.json; rewrote the times in: " + (", ".join(changed) or "nothing"))
    return 0


def machine_name() -> str:
    """A short name of this machine for the timings: processor model and logical CPUs."""
    from utils.models.cost import cpu_description

    return re.sub(r"\((R|TM)\)", "", ", ".join(cpu_description().split(", ")[:2]))


if __name__ == "__main__":
    sys.exit(main())
