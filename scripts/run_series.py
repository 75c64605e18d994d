"""Execute the notebook series headless, in order, and save each with its outputs (``make series``).

Usage: python scripts/run_series.py [NOTEBOOK ...] [--profile NAME] [--no-save]

Each notebook runs on a fresh kernel in the run profile given (default: ``default``). The
executed notebook is normalised (see normalise_notebook.py) and written back in place, so the
committed notebooks show a real run. Stops at the first notebook that fails and says which.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from normalise_notebook import normalise  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--profile", default=os.environ.get("CATSDOGS_PROFILE", "default"))
    parser.add_argument("--no-save", action="store_true", help="execute only; leave the files as they are")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)

    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    os.environ["CATSDOGS_PROFILE"] = args.profile
    os.environ["CATSDOGS_HEADLESS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"Running {len(notebooks)} notebook(s) in the {args.profile!r} profile.", flush=True)
    timings = []
    for path in notebooks:
        path = path.resolve()
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, timeout=args.timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        print(f"- {path.name} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:
            print("FAILED")
            print(str(error)[-3000:], file=sys.stderr)
            print(f"\n{path.name} failed; the file was left unchanged. Fix it and re-run.", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - start
        timings.append((path.name, seconds))
        print(f"done in {seconds / 60:.1f} min", flush=True)
        if not args.no_save:
            nbformat.write(normalise(nb), path)
    print("\nTime to run each notebook (profile %s):" % args.profile)
    for name, seconds in timings:
        print(f"  {name:45s} {seconds / 60:6.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
