"""``python -m utils.submit``: the old name of ``python -m utils submit`` (see :mod:`utils.cli.submit`)."""
import sys

from utils.cli.submit import main

if __name__ == "__main__":
    sys.exit(main())
