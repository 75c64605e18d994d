"""``python -m utils.train``: the old name of ``python -m utils train`` (see :mod:`utils.cli.train`)."""
import sys

from utils.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
