"""The run record: one ``RunRecord`` per training run, written, read, listed and ranked here (notebooks 03-08).

Every run of the course has a folder ``logs/<run>/`` (TensorBoard's event files, ``history.csv``,
``started.json`` from its start) and a checkpoint ``models/<run>.keras``. A run is *finished*
exactly when ``logs/<run>/run.json`` exists: :class:`RunRecord` is that file's content, and
:mod:`utils.runs.record` is the only module that reads or writes it (:mod:`utils.fit` writes it
at the end of a run, and updates it for a transfer model).

* ``record``: :class:`RunRecord`, ``started.json``, run names.
* ``listing``: :func:`list_runs` / :func:`load_run`: every finished run as a table; one run read back.
* ``ranking``: :func:`rank_runs` / :func:`record_best_run` / :func:`read_best_run`: the runs of a
  profile ranked by the saved model's validation log loss, the best one recorded in
  ``models/best.json`` (read by notebook 08 and ``python -m utils submit``).
* ``tidy``: :func:`describe_runs` / :func:`archive_run` / :func:`delete_run`: tidy ``logs/``.

Every public name is imported from ``utils.runs``.

In ``run.json``, ``best_val_loss`` / ``best_val_accuracy`` are the *saved model's* scores on the
validation split, and :func:`rank_runs` calls them ``model_val_loss`` / ``model_val_accuracy``;
its ``min_val_loss`` / ``max_val_accuracy`` are the extremes over the epochs (what TensorBoard shows).
"""
from utils.runs.listing import RUN_COLUMNS, list_runs, load_run, run_names
from utils.runs.ranking import best_json_path, rank_runs, read_best_run, record_best_run
from utils.runs.record import (ARCHIVE_FOLDER, RUN_FILE, RUN_NAME_PATTERN, STARTED_FILE, RunRecord, RunResult,
                               check_run_name, checkpoint_path, now, read_run_info, read_started, run_exists,
                               run_name_for, write_json)
from utils.runs.tidy import archive_run, delete_run, describe_runs

__all__ = [
    "ARCHIVE_FOLDER", "RUN_COLUMNS", "RUN_FILE", "RUN_NAME_PATTERN", "STARTED_FILE", "RunRecord", "RunResult",
    "archive_run", "best_json_path", "check_run_name", "checkpoint_path", "delete_run", "describe_runs",
    "list_runs", "load_run", "now", "rank_runs", "read_best_run", "read_run_info", "read_started",
    "record_best_run", "run_exists", "run_name_for", "run_names", "write_json",
]
