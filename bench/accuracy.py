"""Accuracy on the evaluation set per unit of training time: the course's variants against published recipes.

    python bench/accuracy.py [VARIANT ...] [--budget-multiple 10] [--published-epochs]
                             [--profile default] [--eval PATH] [--eval-limit N] [--quick]
                             [--add-training ARCHIVE ...]

Trains each named registered variant (default: ``baseline tf_tutorial chollet_ch8 deeper larger_input progressive``)
on the profile's training split of the data the course finds (``CATSDOGS_DATA``: the shared
4,000-image sample), exactly as ``utils.fit.train_variant`` does, and scores each model it
saved on the evaluation set ``../shared/data/dogs-vs-cats-eval/eval.zip``: 4,000 labelled Kaggle
images that no training run, validation split or choice of settings has seen.

* ``baseline`` always trains first: its training time is the reference of the run. It trains
  ``--baseline-runs`` times (default 3; the same seed gives the same model each time) and the
  reference is the median of those training times, so one run slowed by another job on the
  machine does not move every budget. Every other variant gets the same training-time budget,
  ``--budget-multiple`` (default 10) times that reference, enforced by :class:`TimeBudget`: at
  the end of each epoch it stops training when one more epoch as long as the last would end
  past the budget (so a run never *starts* an epoch
  it is not expected to finish; the first epoch always runs). The variant's own epoch count
  stays its cap. The table reports the epochs each reached. ``--published-epochs`` trains the
  variants other than ``baseline`` at their own (published) epochs with no budget instead.
  A variant trained in phases (``progressive``: progressive resizing, two calls of ``fit``) has
  one budget for the whole run.
* Each model is scored as the prediction command (``python -m utils.submit``) would use it: the
  checkpoint ``models/<run>.keras`` the run saved, P(dog) with its test-time augmentation (the
  mean over the image and its mirror image, ``utils.predict.predict_files``) and clipped to
  its default bound (``utils.submit.DEFAULT_CLIP``); accuracy and Kaggle's log loss
  (``utils.evaluate``). Beside it, the log loss with a temperature (notebook 08,
  ``python -m utils.submit --temperature T``): T is the one of notebook 08's grid with the lowest
  log loss on the run's whole validation split (notebook 08 chooses on one half of it and
  reports on the other), never on the evaluation set, and the table gives both T and the
  evaluation set's log loss with it (accuracy does not change: a temperature moves no answer
  across 0.5). The evaluation images are extracted, read-only, into a private
  temporary folder removed at the end; they never reach a training or validation pipeline,
  and the script refuses to run when any of them (by Kaggle id or by content) is among the
  training data.

``--add-training ARCHIVE`` (a zip of ``cat.N.jpg`` / ``dog.N.jpg``, e.g. the shared
``cats_and_dogs_filtered.zip``) adds to the *training* split every labelled image of the archive
whose Kaggle id the data does not already hold; the validation split, and so every choice made on
it, stays as it is. Same id, same photograph: 2,000 of ``cats_and_dogs_filtered.zip``'s 3,000
images are the sample's ``cat.0-999`` and ``dog.0-999`` at their original size, and are skipped; its
``2000-2499`` of each class are new. This measures what more data is worth, apart from the recipe.

Prints a markdown table with the machine and the date. Runs are recorded like any other run
(``logs/<run>``, ``models/<run>.keras``): set ``CATSDOGS_HOME`` to a temporary folder to keep
them out of your workspace. ``--quick`` is the smoke profile, a budget of 2x and 40 evaluation
images: a check that everything runs (the tests use it), not a measurement.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.config import PROJECT_ROOT  # noqa: E402

DEFAULT_VARIANTS = ("baseline", "tf_tutorial", "chollet_ch8", "deeper", "larger_input", "progressive")
DEFAULT_EVAL = PROJECT_ROOT.parent / "shared" / "data" / "dogs-vs-cats-eval" / "eval.zip"
COLUMNS = ["variant", "input", "params", "epochs", "eval accuracy", "eval log loss", "T (val)", "eval log loss at T",
           "val accuracy", "training time", "time / baseline's"]


class BenchError(RuntimeError):
    """A bad input; the message says what to do."""


# --- the evaluation set -------------------------------------------------------------------------

@dataclass
class EvalSet:
    files: list[Path]
    labels: list[int]  # 0 cat, 1 dog

    @property
    def ids(self) -> set[tuple[int, int]]:
        return {kaggle_id(f) for f in self.files}


def kaggle_id(path: Path | str) -> tuple[int, int]:
    """``(label, N)`` of a Kaggle training image ``cat.N.jpg`` / ``dog.N.jpg``."""
    kind, number = Path(path).name.lower().split(".")[:2]
    return (0 if kind == "cat" else 1), int(number)


def kaggle_id_or_none(path: Path | str) -> tuple[int, int] | None:
    """:func:`kaggle_id` for a file named like a Kaggle training image, else None."""
    from utils.data.files import KAGGLE_NAME

    return kaggle_id(path) if KAGGLE_NAME.match(Path(path).name) else None


def labelled_files(folder: Path) -> list[Path]:
    """The files under ``folder`` named like Kaggle training images (cat.N.jpg / dog.N.jpg), in Kaggle-id order."""
    from utils.data.files import KAGGLE_NAME

    return sorted((p for p in Path(folder).rglob("*") if p.is_file() and KAGGLE_NAME.match(p.name)), key=kaggle_id)


def extract_eval(archive: Path, target: Path, limit: int | None = None) -> EvalSet:
    """The labelled images of ``archive`` extracted read-only under ``target`` (``limit``: that many, half each class)."""
    from utils.data.archives import ArchiveError, extract

    archive = Path(archive)
    if not archive.is_file():
        raise BenchError(f"No evaluation set at {archive}: put eval.zip there (see ../shared/data/README.md) "
                         "or pass its path with --eval PATH.")
    try:
        folder = extract(archive, target / "eval")
    except ArchiveError as error:
        raise BenchError(f"The evaluation set cannot be used: {error}") from error
    files = labelled_files(folder)
    if not files:
        raise BenchError(f"{archive.name} holds no labelled images named cat.N.jpg / dog.N.jpg; "
                         "is it the evaluation set?")
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o444)  # measure only: nothing may write to it
    if limit:
        cats = [f for f in files if kaggle_id(f)[0] == 0][: limit // 2]
        dogs = [f for f in files if kaggle_id(f)[0] == 1][: limit - limit // 2]
        files = cats + dogs
    return EvalSet(files, [kaggle_id(f)[0] for f in files])


def _digest(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def check_disjoint(training_files, eval_set: EvalSet) -> None:
    """Refuse when an evaluation image is among ``training_files`` (the manifest's), by Kaggle id or by content."""
    shared_ids = {kaggle_id_or_none(f) for f in training_files} & eval_set.ids
    if shared_ids:
        label, number = sorted(shared_ids)[0]
        raise BenchError(
            f"{len(shared_ids)} evaluation image(s) are in the training data (e.g. {('cat', 'dog')[label]}.{number}.jpg): "
            "the evaluation set must be images no run has seen. Point CATSDOGS_DATA at the sample, not the evaluation set."
        )
    shared = {_digest(f) for f in training_files} & {_digest(f) for f in eval_set.files}
    if shared:
        raise BenchError(f"{len(shared)} evaluation image(s) have the same content as training images: "
                         "the evaluation set must be images no run has seen.")


def add_training(frame, archives, target: Path) -> tuple["pd.DataFrame", list[str]]:
    """``frame`` with the labelled images of ``archives`` that it lacks (by Kaggle id) added to its training split.

    Returns the new frame and one line per archive saying what was added and what was skipped.
    """
    import pandas as pd

    from utils.data.archives import ArchiveError, extract

    held = {kaggle_id_or_none(f) for f in frame["filepath"]} - {None}
    added, said = [], []
    for number, archive in enumerate(map(Path, archives)):
        try:
            folder = extract(archive, target / f"added-{number}")
        except ArchiveError as error:
            raise BenchError(f"--add-training {archive.name} cannot be used: {error}") from error
        files = labelled_files(folder)
        if not files:
            raise BenchError(f"--add-training {archive.name} holds no images named cat.N.jpg / dog.N.jpg.")
        new = [f for f in files if kaggle_id(f) not in held]
        held |= {kaggle_id(f) for f in new}
        added += new
        said.append(f"{archive.name}: {len(new):,} of its {len(files):,} labelled images added to the training split; "
                    f"{len(files) - len(new):,} skipped, their Kaggle ids already in the data (the same photographs).")
    rows = pd.DataFrame({"path": [str(f) for f in added], "label": [kaggle_id(f)[0] for f in added], "split": "train",
                         "id": -1, "filepath": [str(f) for f in added]})
    return pd.concat([frame, rows], ignore_index=True), said


# --- training under a time budget ---------------------------------------------------------------

def _time_budget_class():
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """Stop training at the end of an epoch when one more epoch as long as the last would end past ``seconds``.

        The clock starts at the first ``fit`` it sees and runs on through later ones: a variant
        trained in phases (progressive resizing, ``utils.fit.fit_in_phases``) has one budget.
        """

        def __init__(self, seconds: float, clock=time.perf_counter):
            super().__init__()
            self.seconds = float(seconds)
            self.clock = clock
            self.stopped = False
            self.start = None

        def on_train_begin(self, logs=None):
            if self.start is None:
                self.start = self.clock()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = self.clock()

        def on_epoch_end(self, epoch, logs=None):
            now = self.clock()
            if (now - self.start) + (now - self.epoch_start) > self.seconds:
                self.stopped = True
                self.model.stop_training = True

    return TimeBudget


def time_budget(seconds: float, clock=time.perf_counter):
    """A :class:`TimeBudget` callback (a function, so importing this module does not import Keras)."""
    return _time_budget_class()(seconds, clock)


def reference_seconds(times: list[float]) -> float:
    """The median of the baseline's training times: the reference every budget and ratio uses."""
    ordered = sorted(times)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass
class Result:
    variant: str
    input: str
    params: int
    epochs_run: int
    epochs_cap: int
    stopped_by_budget: bool
    eval_accuracy: float
    eval_log_loss: float
    temperature: float  # chosen on the validation split
    eval_log_loss_at_t: float
    val_accuracy: float
    train_seconds: float


def train_and_score(name: str, frame, profile, eval_set: EvalSet, budget: float | None, show_progress: bool) -> Result:
    """Train ``name`` (within ``budget`` seconds if given), then score its saved checkpoint on the evaluation set."""
    from utils.fit import train_variant
    from utils.models.registry import get_variant
    from utils.predict import load_model
    from utils.submission.temperature import soften

    variant = get_variant(name)
    callbacks = [time_budget(budget)] if budget is not None else []
    print(f"\n== {name}: up to {profile.epochs(variant.epochs)} epochs"
          + (f", training-time budget {budget / 60:.1f} min" if budget is not None else ", no time budget"), flush=True)
    result = train_variant(name, frame=frame, profile=profile, callbacks=callbacks)
    model = load_model(result.model_path)  # what the prediction command would use
    labels, p = eval_probabilities(model, eval_set, f"Scoring {name} on the evaluation set", show_progress)
    accuracy, log_loss = clipped_scores(labels, p)
    temperature = validation_temperature(model, frame, show_progress)
    _, log_loss_at_t = clipped_scores(labels, soften(p, temperature))
    return Result(name, "x".join(map(str, variant.input_shape)), int(model.count_params()), len(result.history),
                  profile.epochs(variant.epochs), bool(callbacks and callbacks[0].stopped),
                  accuracy, log_loss, temperature, log_loss_at_t, result.val_accuracy, result.train_seconds)


def clipped_scores(labels, p) -> tuple[float, float]:
    """Accuracy and log loss of P(dog) ``p``, clipped as the prediction command does (every bench script's scores)."""
    from utils import evaluate
    from utils.cli.submit import DEFAULT_CLIP
    from utils.submission import clip_probabilities

    p = clip_probabilities(p, DEFAULT_CLIP)
    return evaluate.accuracy(labels, p), evaluate.log_loss(labels, p)


def eval_probabilities(model, eval_set: EvalSet, desc: str, show_progress: bool = True) -> tuple[list[int], "np.ndarray"]:
    """The evaluation set's labels and ``model``'s P(dog) for them, with the prediction command's TTA (not clipped)."""
    from utils.predict import predict_files

    prediction = predict_files(model, eval_set.files, tta=True, show_progress=show_progress, desc=desc)
    if prediction.failed:
        raise BenchError(f"{len(prediction.failed)} evaluation image(s) could not be decoded, e.g. {prediction.failed[0].name}.")
    return [kaggle_id(f)[0] for f in prediction.files], prediction.probabilities


def eval_scores(model, eval_set: EvalSet, desc: str, show_progress: bool = True) -> tuple[float, float]:
    """``model``'s accuracy and log loss on the evaluation set, with the prediction command's TTA and clipping."""
    return clipped_scores(*eval_probabilities(model, eval_set, desc, show_progress))


def validation_temperature(model, frame, show_progress: bool = False) -> float:
    """The temperature of notebook 08's grid with the lowest log loss on the whole validation split.

    P(dog) with the prediction command's TTA on the validation images (never the evaluation set),
    then :func:`utils.submission.temperature.best_temperature` over its grid (0.5 to 3); the
    evaluation set's log loss is then reported with ``python -m utils.submit --temperature T``'s
    P(dog): softened, then clipped.
    """
    from utils.predict import predict_files
    from utils.submission.temperature import best_temperature

    validation = frame[frame["split"] == "validation"]
    label_of = dict(zip(map(str, validation["filepath"]), validation["label"].astype(int)))
    prediction = predict_files(model, list(label_of), tta=True, show_progress=show_progress,
                               desc="P(dog) on the validation split, for a temperature")
    if prediction.failed:
        raise BenchError(f"{len(prediction.failed)} validation image(s) could not be decoded, e.g. "
                         f"{prediction.failed[0].name}: run notebook 01 again to rebuild the manifest.")
    return best_temperature([label_of[str(f)] for f in prediction.files], prediction.probabilities)


def table(results: list[Result]) -> "pd.DataFrame":
    """The side-by-side table, one row per variant, in :data:`COLUMNS`."""
    import pandas as pd

    reference = results[0].train_seconds
    rows = [{
        "variant": f"`{r.variant}`",
        "input": r.input,
        "params": f"{r.params:,}",
        "epochs": f"{r.epochs_run} of {r.epochs_cap}" + (" (budget)" if r.stopped_by_budget and r.epochs_run < r.epochs_cap else ""),
        "eval accuracy": f"{r.eval_accuracy:.3f}",
        "eval log loss": f"{r.eval_log_loss:.3f}",
        "T (val)": f"{r.temperature:.2f}",
        "eval log loss at T": f"{r.eval_log_loss_at_t:.3f}",
        "val accuracy": f"{r.val_accuracy:.3f}",
        "training time": f"{r.train_seconds / 60:.1f} min",
        "time / baseline's": f"{r.train_seconds / reference:.1f}",
    } for r in results]
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown(frame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |",
             "|" + "|".join("---" if c in ("variant", "input") else "---:" for c in frame.columns) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=f"registered variants (default: {' '.join(DEFAULT_VARIANTS)})")
    parser.add_argument("--budget-multiple", type=float, default=10.0,
                        help="training-time budget of every variant as a multiple of the baseline's (default 10)")
    parser.add_argument("--baseline-runs", type=int, default=3,
                        help="times the baseline trains; the median training time is the reference (default 3)")
    parser.add_argument("--published-epochs", action="store_true",
                        help="train every variant but the baseline at its own epochs, with no time budget")
    parser.add_argument("--profile", default=None, help="run profile (default: default; --quick: smoke)")
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the evaluation archive (eval.zip)")
    parser.add_argument("--eval-limit", type=int, default=None, help="score on this many evaluation images only")
    parser.add_argument("--add-training", type=Path, nargs="+", default=[], metavar="ARCHIVE",
                        help="add these zips' labelled images whose Kaggle ids the data lacks to the training split")
    parser.add_argument("--quick", action="store_true",
                        help="smoke profile, budget 2x, 40 evaluation images: checks that it runs, measures nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.profile = args.profile or "smoke"
        args.eval_limit = args.eval_limit or 40
        if args.budget_multiple == 10.0:
            args.budget_multiple = 2.0
        args.baseline_runs = min(args.baseline_runs, 2)
    args.profile = args.profile or "default"
    return args


def with_messages(run, args) -> int:
    """``run(args)``'s exit code; a :class:`BenchError` or Ctrl-C ends it with one line on stderr, no traceback."""
    try:
        return run(args)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted (Ctrl-C): no table printed.", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    return with_messages(run, parse_args(argv))


def run(args) -> int:
    from utils.models.registry import VARIANTS
    from utils.config import get_profile

    names = list(dict.fromkeys(["baseline", *(args.variants or DEFAULT_VARIANTS)]))
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise BenchError(f"unknown variant {unknown[0]!r}. Choose from: {', '.join(VARIANTS)}.")
    if args.budget_multiple <= 0:
        raise BenchError(f"--budget-multiple must be positive, not {args.budget_multiple}.")
    if args.baseline_runs < 1:
        raise BenchError(f"--baseline-runs must be at least 1, not {args.baseline_runs}.")
    missing = [a for a in args.add_training if not a.is_file()]
    if missing:
        raise BenchError(f"--add-training {missing[0]}: no such file. Give a zip of cat.N.jpg / dog.N.jpg images, "
                         "e.g. ../shared/data/cats-and-dogs-filtered/cats_and_dogs_filtered.zip.")
    if args.eval_limit is not None and args.eval_limit < 2:
        raise BenchError(f"--eval-limit must be at least 2, not {args.eval_limit}.")
    try:
        profile = get_profile(args.profile)
    except ValueError as error:
        raise BenchError(str(error)) from error

    import keras
    import tensorflow as tf

    from utils.models.cost import cpu_description
    from utils.data.dataset import load_manifest
    from utils.fit import train_variant

    private = Path(tempfile.mkdtemp(prefix="catsdogs-eval-"))
    try:
        eval_set = extract_eval(args.eval, private, args.eval_limit)
        frame = load_manifest(profile)
        if args.add_training:
            frame, said = add_training(frame, args.add_training, private)
            print("\n".join(said), flush=True)
        check_disjoint(frame.loc[frame["split"].isin(["train", "validation"]), "filepath"], eval_set)
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load_before = os.getloadavg()
        print(f"Evaluation set: {len(eval_set.files)} images from {args.eval.name}, none of them among the "
              f"{int(frame['split'].isin(['train', 'validation']).sum())} training and validation images "
              f"(checked by Kaggle id and by content).", flush=True)
        results = [train_and_score("baseline", frame, profile, eval_set, None, show_progress=False)]
        baseline_times = [results[0].train_seconds]
        for run_number in range(2, args.baseline_runs + 1):
            print(f"\n== baseline again ({run_number} of {args.baseline_runs}): its training time only", flush=True)
            baseline_times.append(train_variant("baseline", frame=frame, profile=profile).train_seconds)
        results[0].train_seconds = reference_seconds(baseline_times)
        for name in names[1:]:
            budget = None if args.published_epochs else args.budget_multiple * results[0].train_seconds
            results.append(train_and_score(name, frame, profile, eval_set, budget, show_progress=False))
    finally:
        shutil.rmtree(private, ignore_errors=True)  # the files are read-only, their folders are not

    load_after = os.getloadavg()
    mode = ("each variant but the baseline at its own epochs, no time budget" if args.published_epochs else
            f"training-time budget {args.budget_multiple:g}x the baseline's ({args.budget_multiple * results[0].train_seconds / 60:.1f} min)")
    n_train = int((frame["split"] == "train").sum())
    print(f"\nAccuracy on the evaluation set ({len(eval_set.files)} images; test-time augmentation, P(dog) clipped "
          f"as the prediction command does), profile {profile.name!r}, {n_train:,} training images"
          + (" (added: " + ", ".join(a.name for a in args.add_training) + ")" if args.add_training else "")
          + f", {mode}.")
    print(f"Machine: {cpu_description()}; TensorFlow {tf.__version__}, Keras {keras.__version__}; started {started}, "
          f"finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average (1 min) "
          f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end.\n")
    print(f"Reference: the baseline's training time, the median of {len(baseline_times)} run(s): "
          + ", ".join(f"{t:.0f} s" for t in baseline_times) + ".\n")
    print(markdown(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
