"""Send a submission to Kaggle with the official ``kaggle`` command (notebook 08).

:func:`submit_command` builds the exact command; :func:`submit` runs it only when the learner
asked for it explicitly (``confirm=True``, or ``CATSDOGS_SUBMIT=1`` in the environment), the file
holds each of Kaggle's 12,500 test ids, and the ``kaggle`` program and Kaggle credentials are both
present; otherwise it explains how to submit by hand. Credentials alone never send anything. It
never raises: being offline or without an account must not fail a run.
"""
from __future__ import annotations

import csv
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from utils.config import COMPETITION, SUBMIT_VARIABLE, kaggle_credentials_source, submit_requested

KAGGLE_TEST_IDS = range(1, 12_501)  # Kaggle's test images, 1.jpg ... 12500.jpg: a scored file has each once


def short_of_kaggle(csv_path: str | os.PathLike) -> str | None:
    """Why Kaggle would not score ``csv_path`` as a whole submission, or None: it must hold every id of
    :data:`KAGGLE_TEST_IDS` once, no more (a sample's or a profile's subset is fine locally, never sent)."""
    try:
        with open(csv_path, newline="") as handle:
            ids = [row["id"] for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError, KeyError, csv.Error) as error:
        return f"it cannot be read as an id,label file ({type(error).__name__}: {error})"
    if len(ids) == len(KAGGLE_TEST_IDS) and {i.strip() for i in ids} == {str(i) for i in KAGGLE_TEST_IDS}:
        return None
    return (f"it has {len(ids):,} row(s), and Kaggle scores only a file with one row for each of its "
            f"{len(KAGGLE_TEST_IDS):,} test images (1.jpg ... 12500.jpg)")


HOW_TO = (
    "To submit: create an API token on kaggle.com (Settings -> API -> Create New Token), save it "
    "as ~/.kaggle/kaggle.json (or set KAGGLE_USERNAME and KAGGLE_KEY), accept the competition's "
    f"rules at https://www.kaggle.com/c/{COMPETITION}, then run the command above. Or upload the "
    "file on the competition's 'Submit Predictions' page."
)


def submission_message(model_name: str, tta: bool, temperature: float, clip: float) -> str:
    """The message shown beside a submission on Kaggle: the model and the choices that made its file (notebook 08)."""
    return f"{model_name}, tta={'on' if tta else 'off'}, temperature={temperature:g}, clip={clip:g}"


def submit_command(csv_path: str | os.PathLike, message: str) -> list[str]:
    """The ``kaggle competitions submit`` command for ``csv_path``, as a list of arguments (notebook 08)."""
    return ["kaggle", "competitions", "submit", "-c", COMPETITION, "-f", str(csv_path), "-m", message]


def command_line(csv_path: str | os.PathLike, message: str) -> str:
    """The same command as one line to paste into a terminal (notebook 08)."""
    return shlex.join(submit_command(csv_path, message))


def kaggle_program() -> str | None:
    """Where the ``kaggle`` program is: on PATH, or beside this Python (a virtual environment's bin/) (notebooks 01, 08)."""
    import sys

    found = shutil.which("kaggle")
    if found is None:
        found = shutil.which("kaggle", path=str(Path(sys.executable).parent))
    return found


def credentials_source() -> str | None:
    """Where Kaggle credentials would come from (a description, never their value), or None (notebooks 01, 08)."""
    return kaggle_credentials_source()


@dataclass
class SubmitResult:
    command: str  # the command line
    ran: bool  # whether it was run
    ok: bool  # whether Kaggle accepted it (False when not run)
    message: str  # what happened, or how to submit by hand


def submit(csv_path: str | os.PathLike, message: str, run: bool | None = None, timeout: float = 300.0,
           *, confirm: bool | None = None) -> SubmitResult:
    """Submit ``csv_path`` when asked and possible; otherwise say how. Never raises (notebook 08).

    Nothing is sent unless the learner opts in explicitly: ``run=True`` or ``confirm=True``
    (``python -m utils.submit --kaggle``, notebook 08's opt-in variable) or ``CATSDOGS_SUBMIT=1``
    in the environment. Kaggle credentials alone never send anything. ``run=False`` or
    ``confirm=False`` never submits, whatever the environment says.
    """
    line = command_line(csv_path, message)
    if not Path(csv_path).is_file():
        return SubmitResult(line, False, False, f"{Path(csv_path).name} does not exist; write it first.")
    program = kaggle_program()
    where = credentials_source()
    if run is False or confirm is False:
        return SubmitResult(line, False, False, "Not submitted (not asked to). " + HOW_TO)
    if not (run is True or confirm is True or submit_requested()):
        return SubmitResult(
            line, False, False,
            f"Not submitted: sending a file to Kaggle needs your explicit opt-in ({SUBMIT_VARIABLE}=1, "
            "or confirm=True, or --kaggle on the command line). " + HOW_TO,
        )
    short = short_of_kaggle(csv_path)
    if short:
        return SubmitResult(
            line, False, False,
            f"Not submitted: {short}. Predict all of Kaggle's test.zip (the `full` profile, or "
            "python -m utils.submit --images <its folder>) and submit that file.",
        )
    if program is None:
        return SubmitResult(line, False, False, "The kaggle program is not installed (pip install kaggle). " + HOW_TO)
    if where is None:
        return SubmitResult(line, False, False, "No Kaggle credentials found. " + HOW_TO)
    arguments = [program] + submit_command(csv_path, message)[1:]
    try:
        done = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as error:
        return SubmitResult(line, True, False, f"Could not run kaggle ({error}). " + HOW_TO)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        return SubmitResult(
            line, True, False,
            f"kaggle exited with code {done.returncode} (offline, or rules not accepted?): {output[-500:]}",
        )
    return SubmitResult(line, True, True, f"Submitted with credentials from {where}: {output[-500:]}")
