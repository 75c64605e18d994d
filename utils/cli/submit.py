"""Write a Kaggle ``submission.csv`` from the command line, without Jupyter (notebook 08).

    python -m utils.submit [--model models/NAME.keras] [--images DIR] [--out submission.csv]
                           [--force] [--temperature 1] [--clip 0.02] [--no-tta] [--sample FILE|none] [--kaggle]

Defaults: the best model recorded for the run profile in ``models/best.json`` (notebook 07;
``models/best-<profile>.json`` for the smoke and full profiles), else the newest
``models/*.keras`` of a finished run. A model of an unfinished (interrupted) run, or of the
smoke profile, is used only when ``--model`` names it; the command says which profile and
how many epochs its model had. Images: the prepared test set of the run profile
(``utils.data.dataset.load_manifest``); any folder of JPEGs named by numeric id (``123.jpg``) works with ``--images``. Files that are
not JPEGs, or are corrupt, are skipped and listed; the written file is checked against
Kaggle's ``sample_submission.csv`` when one is found. ``--temperature T`` divides the logit of
every P(dog) by T before clipping (notebook 08 chooses T on the validation split; the default, 1,
leaves P(dog) unchanged). Exit code 0 on success, 2 for bad input
(with a message saying what to do), 1 when the file cannot be written, 130 on Ctrl-C.
Nothing is sent to Kaggle without ``--kaggle``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from utils import kaggle
from utils import config
from utils.cli.model_choice import choose_model
from utils.predict import PredictionError, load_model, model_input, predict_files, scan_images
from utils.submission import (
    SubmissionError,
    find_sample_submission,
    check_temperature,
    parse_id,
    read_sample_ids,
    soften,
    write_submission,
)

DEFAULT_CLIP = 0.02


class UsageError(Exception):
    """Bad input to the command (exit code 2)."""


def _shown(path: Path) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _test_files_from_manifest() -> tuple[list[Path], str]:
    from utils.data.dataset import load_manifest
    from utils.config import get_profile

    profile = get_profile()
    try:
        frame = load_manifest(profile)
    except Exception as error:
        raise UsageError(
            f"Could not prepare the test set ({error}). Run notebook 01 first or pass --images DIR."
        ) from error
    test = frame[frame["split"] == "test"]
    if len(test) == 0:
        raise UsageError("The prepared data set has no test images; pass --images DIR.")
    return [Path(p) for p in test["filepath"]], f"the prepared test set ({profile.name} profile)"


def duplicate_ids(files: list[Path]) -> dict[int, list[str]]:
    """``{id: [file names]}`` for ids that more than one file gives (``1.jpg``, ``01.jpg``, ``1.JPEG``)."""
    by_id: dict[int, list[str]] = {}
    for f in files:
        by_id.setdefault(parse_id(f.name), []).append(f.name)
    return {i: names for i, names in sorted(by_id.items()) if len(names) > 1}


def _check_output(out: Path, force: bool) -> None:
    """Refuse an output that cannot be written, before any work is done."""
    if out.is_dir():
        raise UsageError(f"--out {_shown(out)} is a folder; give a file name such as submission.csv.")
    if out.exists() and not force:
        raise UsageError(f"{_shown(out)} already exists; pass --force to replace it or choose another --out.")
    parent = out.parent if str(out.parent) else Path(".")
    existing = next((p for p in [parent, *parent.parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"--out {_shown(out)}: {_shown(existing)} is a file, not a folder; choose another --out.")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {_shown(out)}: the folder {_shown(existing)} is read-only; choose another --out.")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.clip is not None and not 0.0 <= args.clip < 0.5:
        raise UsageError(f"--clip must be in [0, 0.5), not {args.clip}.")
    try:
        check_temperature(args.temperature)
    except SubmissionError as error:
        raise UsageError(f"--temperature: {error}") from None
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}.")
    _check_output(out, args.force)
    from utils.config import get_profile

    try:
        get_profile()
    except ValueError as error:
        raise UsageError(str(error)) from None

    # The model first: a missing or unusable one is reported before any image is read.
    model_path, why = choose_model(args.model)
    print(f"Model: {_shown(model_path)} ({why})")
    model = load_model(model_path)
    model_input(model)  # one image input of a fixed size, or a clear error
    start = time.perf_counter()

    if args.images:
        scan = scan_images(args.images)
        where = _shown(Path(args.images))
    else:
        files, where = _test_files_from_manifest()
        scan = scan_images(files)
    print(f"Images: {where}: {scan.report()}")
    if not scan.files:
        raise UsageError(
            f"No readable JPEG images in {where}; point --images at the folder holding the test images (1.jpg, 2.jpg, ...)."
        )
    not_numeric, too_large = [], []
    ids = []
    for f in scan.files:
        try:
            ids.append(parse_id(f.name))
        except SubmissionError as error:
            (too_large if "too large" in str(error) else not_numeric).append(f.name)
    if too_large:
        raise UsageError(
            f"{len(too_large)} image name(s) hold an id too large to be a Kaggle id, e.g. "
            f"{[n[:30] for n in too_large[:3]]}. Kaggle's test images are named 1.jpg ... 12500.jpg."
        )
    if not_numeric:
        raise UsageError(
            f"{len(not_numeric)} image(s) are not named by a numeric Kaggle id, e.g. {not_numeric[:3]}. "
            "Kaggle's test images are named 1.jpg ... 12500.jpg; rename them or use the test folder "
            "(the training images cat.N.jpg / dog.N.jpg cannot be submitted)."
        )
    duplicated = duplicate_ids(scan.files)
    if duplicated:
        shown = "; ".join(f"id {i}: {', '.join(names)}" for i, names in list(duplicated.items())[:5])
        raise UsageError(
            f"{len(duplicated)} id(s) are given by more than one file ({shown}). Keep one file per id "
            "and run again; nothing was predicted."
        )

    sample, allow_subset = None, False
    if args.sample != "none":
        sample = Path(args.sample) if args.sample else find_sample_submission(args.images)
        if sample is not None and not sample.is_file():
            raise UsageError(f"--sample {args.sample}: no such file (or pass --sample none).")
    if sample is not None:
        try:
            sample_ids = set(read_sample_ids(sample).tolist())
        except (SubmissionError, ValueError, KeyError, OSError) as error:
            raise UsageError(f"Could not read {_shown(sample)} ({error}); pass --sample none to skip it.") from error
        unknown = sorted(set(ids) - sample_ids)
        if unknown:
            raise UsageError(
                f"{len(unknown)} image id(s) are not in {_shown(sample)}, e.g. {unknown[:3]}: these are not "
                "this competition's test images. Pass --sample none to write the file anyway."
            )
        allow_subset = len(set(ids)) < len(sample_ids)
        print(
            f"Checking against {sample.name}: "
            + (f"{len(ids)} of its {len(sample_ids)} ids (a partial set: fine for a check, "
               "Kaggle scores only a complete file)" if allow_subset else f"all {len(sample_ids)} ids")
        )
    else:
        print("No sample_submission.csv used: the file is checked on its own.")

    prediction = predict_files(model, scan.files, batch_size=args.batch_size, tta=not args.no_tta)
    if prediction.failed:
        print(f"TensorFlow could not decode {len(prediction.failed)} file(s), left out of the CSV: "
              + ", ".join(f.name for f in prediction.failed[:10]))
    kept_ids = [parse_id(f.name) for f in prediction.files]
    clip = DEFAULT_CLIP if args.clip is None else args.clip
    write_submission(
        kept_ids, soften(prediction.probabilities, args.temperature), out, clip=clip, sample=sample,
        allow_subset=allow_subset or bool(prediction.failed), force=args.force,
    )
    rate = len(prediction.files) / max(prediction.seconds, 1e-9)
    print(
        f"Predicted P(dog) for {len(prediction.files)} image(s) in {prediction.seconds:.1f} s "
        f"({rate:.0f} images/s), {'with' if not args.no_tta else 'without'} test-time augmentation "
        f"(image + mirror image); "
        + (f"logits divided by the temperature {args.temperature:g}; " if args.temperature != 1 else "")
        + (f"clipped to [{clip:g}, {1 - clip:g}]." if clip else "not clipped.")
    )
    skipped = len(scan.skipped) + len(prediction.failed)
    print(f"Wrote {_shown(out)}: {len(kept_ids)} rows (id,label), valid"
          + (f"; {skipped} file(s) skipped, listed above." if skipped else "."))
    print(f"Took {time.perf_counter() - start:.1f} s in all.")

    message = args.message or kaggle.submission_message(model_path.stem, not args.no_tta, args.temperature, clip)
    print("Submit with:\n  " + kaggle.command_line(out, message))
    if args.kaggle:
        result = kaggle.submit(out, message, confirm=True)
        print(result.message)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m utils.submit",
        description="Predict P(dog) for a folder of test images and write a checked Kaggle submission.csv.",
    )
    parser.add_argument("--model", help="a saved model (default: models/best.json's, else the newest models/*.keras)")
    parser.add_argument("--images", help="folder of JPEGs named by numeric id (default: the prepared test set)")
    parser.add_argument("--out", default="submission.csv", help="the CSV to write (default: submission.csv)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="divide the logit of every P(dog) by T before clipping (default 1: unchanged)")
    parser.add_argument("--clip", type=float, default=None, help=f"clip P(dog) into [c, 1-c] (default {DEFAULT_CLIP})")
    parser.add_argument("--no-tta", action="store_true", help="no test-time augmentation (image only, no mirror)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sample", help="Kaggle's sample_submission.csv to check against (default: found "
                        "beside the images or the data; 'none' to skip)")
    parser.add_argument("--kaggle", action="store_true", help="also submit with the kaggle program when set up")
    parser.add_argument("-m", "--message", help="the Kaggle submission message")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (UsageError, PredictionError, SubmissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nInterrupted: {_shown(Path(args.out))} was not written (an existing one is unchanged).",
              file=sys.stderr)
        return 130
    except OSError as error:  # a full or read-only disk while writing
        reason = error.strerror or str(error)
        print(f"error: could not write {_shown(Path(args.out))} ({reason}); nothing was written. "
              "Free some disk space or choose another --out.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    config.quiet_tensorflow()
    sys.exit(main())
