"""The command line: ``python -m utils train|submit|runs`` (see :mod:`utils.__main__`)."""
