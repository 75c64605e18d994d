"""Train a registered variant from the command line (introduced in notebook 04).

    python -m utils.train --variant batchnorm_gap [--epochs N] [--run-name NAME] [--profile smoke]

Does what ``utils.fit.train_variant`` does in a notebook: builds the dataset if needed,
trains with the profile's data and epochs, writes ``logs/<run>`` and ``models/<run>.keras``,
and prints the validation scores. ``--list`` shows the variants; ``--runs`` the runs, saying
which are unfinished (interrupted, or still training: no ``run.json``; they are never ranked
nor used by ``python -m utils.submit``). Ctrl-C stops with one line, not a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from utils import config

if TYPE_CHECKING:
    import pandas as pd


def main(argv: list[str] | None = None) -> int:
    config.quiet_tensorflow()
    parser = argparse.ArgumentParser(prog="python -m utils.train", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", help="a registered variant name (see --list); default: the best one")
    parser.add_argument("--epochs", type=int, help="epochs to train (capped by the profile)")
    parser.add_argument("--run-name", help="name of the run (default: <variant>-<date>-<time>)")
    parser.add_argument("--profile", help="smoke, default or full (default: $CATSDOGS_PROFILE or default)")
    parser.add_argument("--list", action="store_true", help="list the registered variants and exit")
    parser.add_argument("--runs", action="store_true", help="list the runs (finished and unfinished) and exit")
    args = parser.parse_args(argv)
    started = time.time()
    try:
        return _main(args)
    except KeyboardInterrupt:
        run = _interrupted_run(started)
        where = (f"run {run} is left unfinished (logs/{run}/ has no run.json): it is not ranked and "
                 "utils.cli.submit does not use it" if run else "no run was recorded")
        print(f"\nInterrupted (Ctrl-C): {where}.", file=sys.stderr)
        return 130


def _interrupted_run(since: float) -> str | None:
    """The run this command started (a folder under logs/ made since ``since`` without run.json)."""
    from utils import config

    logs = config.logs_dir()
    if not logs.is_dir():
        return None
    fresh = [p for p in logs.iterdir() if p.is_dir() and not (p / "run.json").exists()
             and p.stat().st_mtime >= since - 1]
    return max(fresh, key=lambda p: p.stat().st_mtime).name if fresh else None


def runs_table() -> pd.DataFrame:
    """The runs under logs/ with a ``status`` column: finished, or UNFINISHED (notebook 04)."""
    from utils.runs import list_runs

    table = list_runs(include_unfinished=True).drop(columns=["hparams"], errors="ignore")
    finished = table.pop("finished").astype(bool) if "finished" in table else None
    if finished is not None:
        table.insert(1, "status", ["finished" if f else "UNFINISHED" for f in finished])
    return table


def _main(args) -> int:

    from utils import config
    from utils.models.registry import DEFAULT_VARIANT, VARIANTS
    from utils.config import get_profile

    if args.list:
        for name, variant in VARIANTS.items():
            star = " (default)" if name == DEFAULT_VARIANT else ""
            print(f"{name}{star}: {variant.description}")
        return 0
    if args.runs:
        table = runs_table()
        if table.empty:
            print(f"No runs in {config.relative(config.logs_dir())}/ yet: train one (python -m utils.train).")
            return 0
        print(table.to_string(index=False))
        unfinished = int((table["status"] == "UNFINISHED").sum())
        if unfinished:
            print(f"\n{unfinished} unfinished run(s) (interrupted, or still training: no run.json): never ranked "
                  "and never chosen by utils.cli.submit. Archive them with utils.runs.archive_run(NAME).")
        return 0
    name = args.variant or DEFAULT_VARIANT
    if name not in VARIANTS:
        print(f"error: unknown variant {name!r}. Choose one of: {', '.join(VARIANTS)} "
              "(python -m utils.train --list describes them).", file=sys.stderr)
        return 2
    if args.epochs is not None and args.epochs < 1:
        print("error: --epochs must be at least 1.", file=sys.stderr)
        return 2
    try:
        profile = get_profile(args.profile)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.run_name:
        from utils.runs import check_run_name, run_exists

        try:
            check_run_name(args.run_name)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if run_exists(args.run_name):
            print(f"error: a run named {args.run_name!r} already exists; choose another --run-name "
                  "(nothing was overwritten).", file=sys.stderr)
            return 2

    from utils.data.dataset import load_manifest

    try:
        frame = load_manifest(profile)
    except Exception as error:  # DataNotFound, NoLabelledImages, a damaged archive...
        print(f"error: no dataset to train on: {error}\n"
              "Run notebook 01 (or set CATSDOGS_DATA to the folder holding Kaggle's train.zip) and try again.",
              file=sys.stderr)
        return 1

    from utils.fit import train_variant

    try:
        result = train_variant(name, frame=frame, profile=profile, run_name=args.run_name, epochs=args.epochs)
    except (ValueError, FileExistsError) as error:  # a run name taken meanwhile, a bad one
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"\nRun {result.run_name}: validation accuracy {result.val_accuracy:.3f}, "
          f"loss {result.val_loss:.3f}, {result.train_seconds / 60:.1f} min of training.")
    print(f"Checkpoint: {config.relative(result.model_path)}   logs: {config.relative(result.log_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
