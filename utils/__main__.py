"""One command line for the course: ``python -m utils train|submit|runs [options]``.

``python -m utils.train`` and ``python -m utils.submit`` are the same commands under their old names.
"""
from __future__ import annotations

import sys

COMMANDS = ("train", "submit", "runs")


def main(argv: list[str] | None = None) -> int:
    """Dispatch to :mod:`utils.cli.train` (train, runs) or :mod:`utils.cli.submit`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m utils {{{'|'.join(COMMANDS)}}} [options]  (--help after a command for its options)",
              file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    command, rest = argv[0], argv[1:]
    if command == "submit":
        from utils.cli.submit import main as submit

        return submit(rest)
    from utils.cli.train import main as train

    return train(["--runs", *rest] if command == "runs" else rest)


if __name__ == "__main__":
    sys.exit(main())
