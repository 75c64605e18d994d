"""What a trained model's predictions gain without training again: more test-time views, and a temperature.

    python bench/calibration.py [--run RUN | --variant larger_input] [--profile default] [--folds 2]
                                [--eval [PATH]] [--eval-limit N]

Reads a finished run from the workspace (``--run``, or the newest run of ``--variant`` in the
profile: notebook 04 and ``python -m utils.train`` write them) and scores its checkpoint on the
profile's validation split, P(dog) clipped at 0.02 as the prediction command does, two ways:

* **Views.** The prediction command averages P(dog) over the image and its mirror image. The
  table adds a centre crop of 90% of the side (and its mirror), and then the four corner crops
  of 90% (and their mirrors), each stretched back to the input size: 2, 4 and 12 views.
* **A temperature** (Guo et al., "On calibration of modern neural networks", ICML 2017): each
  view's logit, log(P(dog) / P(cat)), is divided by one number T before P(dog) is averaged.
  T > 1 makes every answer less sure, T < 1 surer; the order of the answers, and so the accuracy
  of one view, does not change. T is chosen by k-fold cross-validation *within* the validation
  split (``--folds``, default 2): each part is scored with the T that fits the other parts best,
  so no image is scored with a T fitted on it.

``--eval`` then fits one T on the whole validation split (the prediction command's two views)
and scores the checkpoint on the evaluation set (``../shared/data/dogs-vs-cats-eval/eval.zip``)
with and without it. The evaluation set only measures: nothing here is chosen on it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from accuracy import DEFAULT_EVAL, BenchError, check_disjoint, clipped_scores, extract_eval, with_messages  # noqa: E402

CROP = 0.9  # the side of each crop, as a fraction of the image's
VIEW_SETS = {  # name -> the views averaged
    "image + mirror (the prediction command)": ("image",),
    "+ centre crop of 90%": ("image", "centre"),
    "+ four corner crops of 90%": ("image", "centre", "top left", "top right", "bottom left", "bottom right"),
}  # every view also comes mirrored
TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 241))  # 0.25 to 4, about 1.2% apart


def crop_boxes(name: str, n: int, side: float = CROP) -> np.ndarray:
    """``n`` boxes ``[y1, x1, y2, x2]`` (fractions of the image) for the view ``name``: a square of ``side``."""
    corner = {"centre": ((1 - side) / 2, (1 - side) / 2), "top left": (0.0, 0.0), "top right": (0.0, 1 - side),
              "bottom left": (1 - side, 0.0), "bottom right": (1 - side, 1 - side)}[name]
    y1, x1 = corner
    return np.tile(np.array([[y1, x1, y1 + side, x1 + side]], dtype="float32"), (n, 1))


def views(images: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each view of ``images`` (batch, height, width, channels), and its mirror image (``name + ' mirror'``)."""
    import tensorflow as tf

    images = np.asarray(images, dtype="float32")
    n, height, width = images.shape[:3]
    out = {}
    for name in names:
        view = images if name == "image" else tf.image.crop_and_resize(
            images, crop_boxes(name, n), np.arange(n, dtype="int32"), (height, width)).numpy()
        out[name] = view
        out[f"{name} mirror"] = view[:, :, ::-1, :]
    return out


def p_dog(view_logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """P(dog) averaged over the views (rows: images, columns: views), each logit divided by ``temperature``."""
    return (1.0 / (1.0 + np.exp(-np.asarray(view_logits) / temperature))).mean(axis=1)


def scores(labels, view_logits, temperature: float = 1.0) -> tuple[float, float]:
    """Accuracy and log loss of the averaged P(dog), clipped as the prediction command does."""
    return clipped_scores(labels, p_dog(view_logits, temperature))


def fit_temperature(labels, view_logits) -> float:
    """The temperature of :data:`TEMPERATURES` with the lowest log loss on these images."""
    losses = [scores(labels, view_logits, t)[1] for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def cross_validated(labels, view_logits, folds: int, seed: int) -> tuple[float, float, list[float]]:
    """Accuracy and log loss when each of ``folds`` parts gets the temperature fitted on the others, and those temperatures."""
    labels, view_logits = np.asarray(labels), np.asarray(view_logits)
    parts = np.array_split(np.random.default_rng(seed).permutation(len(labels)), folds)
    p = np.zeros(len(labels))
    chosen = []
    for k, held in enumerate(parts):
        fit = np.concatenate([part for j, part in enumerate(parts) if j != k])
        chosen.append(fit_temperature(labels[fit], view_logits[fit]))
        p[held] = p_dog(view_logits[held], chosen[-1])
    return (*clipped_scores(labels, p), chosen)


def view_logits(model, batches, names: tuple[str, ...], desc: str, total: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(targets, logits)`` over ``batches`` of ``(images, target)``: one logit column per view and mirror."""
    from utils.predict.model import _output_activation, dog_column
    from utils.progress import progress
    from utils.submission import logit  # log(P(dog) / P(cat)), kept finite

    activation = _output_activation(model)
    targets, columns = [], []
    for images, target in progress(batches, total=total, desc=desc, unit="batch"):
        shown = views(np.asarray(images), names)
        columns.append(np.stack([logit(dog_column(model(v, training=False), activation)) for v in shown.values()],
                                axis=1))
        targets.append(np.asarray(target))
    return np.concatenate(targets), np.concatenate(columns)


@dataclass
class Row:
    views: str
    count: int
    accuracy: float
    log_loss: float
    t_accuracy: float
    t_log_loss: float
    temperatures: list[float]


def markdown(rows: list[Row]) -> str:
    lines = ["| views | views averaged | val accuracy | val log loss | with a temperature: val accuracy | "
             "val log loss | temperatures (one per part) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.views} | {r.count} | {r.accuracy:.4f} | {r.log_loss:.4f} | {r.t_accuracy:.4f} | "
                     f"{r.t_log_loss:.4f} | {', '.join(f'{t:.2f}' for t in r.temperatures)} |")
    return "\n".join(lines)


def find_run(run: str | None, variant: str, profile: str) -> str:
    """The run to read: ``run``, or the newest finished run of ``variant`` trained in ``profile``."""
    from utils.runs import list_runs

    runs = list_runs()
    if run is not None:
        if run not in set(runs["run"]):
            raise BenchError(f"no finished run named {run!r} in the workspace's logs/; "
                             "`python -m utils.train --runs` shows them.")
        return run
    mine = runs[(runs["variant"] == variant) & (runs["profile"] == profile)]
    if mine.empty:
        raise BenchError(f"no finished run of {variant!r} in profile {profile!r} in the workspace: train one first "
                         f"(`python -m utils.train --variant {variant} --profile {profile}`, or run notebook 04).")
    return str(mine["run"].iloc[-1])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="the run to read (default: the newest run of --variant)")
    parser.add_argument("--variant", default=None, help="the variant whose newest run is read (default: the default variant)")
    parser.add_argument("--profile", default="default", help="the run profile of the run and its validation split")
    parser.add_argument("--folds", type=int, default=2, help="parts of the validation split for choosing T (default 2)")
    parser.add_argument("--eval", type=Path, nargs="?", const=DEFAULT_EVAL, default=None,
                        help="also score on the evaluation set (default archive: ../shared/data/dogs-vs-cats-eval/eval.zip)")
    parser.add_argument("--eval-limit", type=int, default=None, help="score on this many evaluation images only")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return with_messages(run, parse_args(argv))


def run(args) -> int:
    from utils.config import PROFILES, get_profile
    from utils.models.registry import DEFAULT_VARIANT, VARIANTS

    if args.profile not in PROFILES:
        raise BenchError(f"unknown profile {args.profile!r}. Choose from: {', '.join(PROFILES)}.")
    variant = args.variant or DEFAULT_VARIANT
    if variant not in VARIANTS:
        raise BenchError(f"unknown variant {variant!r}. Choose from: {', '.join(VARIANTS)}.")
    if args.folds < 2:
        raise BenchError(f"--folds must be at least 2 (a temperature is never scored on the images it was fitted on), "
                         f"not {args.folds}.")
    if args.eval_limit is not None and args.eval_limit < 2:
        raise BenchError(f"--eval-limit must be at least 2, not {args.eval_limit}.")
    run_name = find_run(args.run, variant, args.profile)

    from dataclasses import replace

    from utils.data.dataset import load_manifest
    from utils.models.registry import get_variant
    from utils.predict import model_input
    from utils.runs import load_run

    profile = get_profile(args.profile)
    result = load_run(run_name)
    summary = result.summary
    if summary.get("profile") != profile.name:
        raise BenchError(f"run {run_name!r} was trained in profile {summary.get('profile')!r}, not {profile.name!r}: "
                         f"pass --profile {summary.get('profile')} to score it on that profile's validation split.")
    if summary.get("variant") not in VARIANTS:
        raise BenchError(f"run {run_name!r} was trained from variant {summary.get('variant')!r}, which the registry "
                         "does not hold: choose a run of a registered variant.")
    model = result.model
    (height, width), color_mode = model_input(model)
    frame = load_manifest(profile)
    run_variant = replace(get_variant(summary["variant"]), image_size=(height, width), color_mode=color_mode)
    private = Path(tempfile.mkdtemp(prefix="catsdogs-eval-"))
    try:  # the evaluation set first: a bad archive stops the run before anything is printed
        eval_set = None
        if args.eval is not None:
            eval_set = extract_eval(args.eval, private, args.eval_limit)
            check_disjoint(frame.loc[frame["split"].isin(["train", "validation"]), "filepath"], eval_set)
        report(args, run_name, summary, model, frame, profile, run_variant, eval_set)
    finally:
        shutil.rmtree(private, ignore_errors=True)  # the files are read-only, their folders are not
    return 0


def report(args, run_name, summary, model, frame, profile, run_variant, eval_set) -> None:
    """Print the validation table and, with an evaluation set, its two rows."""
    import keras
    import tensorflow as tf

    from utils.fit.variants import variant_datasets
    from utils.models.cost import cpu_description
    from utils.predict import files_dataset

    (height, width), color_mode = run_variant.image_size, run_variant.color_mode
    started, load = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()[0]
    _, val_ds = variant_datasets(frame, run_variant, seed=profile.seed)
    all_views = VIEW_SETS[list(VIEW_SETS)[-1]]
    labels, columns = view_logits(model, val_ds, all_views, "Validation views")
    order = list(views(np.zeros((1, height, width, 3 if color_mode == "rgb" else 1), "float32"), all_views))
    rows = []
    for name, chosen in VIEW_SETS.items():
        keep = [order.index(v) for v in order if v.removesuffix(" mirror") in chosen]
        accuracy, log_loss = scores(labels, columns[:, keep])
        t_accuracy, t_log_loss, temperatures = cross_validated(labels, columns[:, keep], args.folds, profile.seed)
        rows.append(Row(name, len(keep), accuracy, log_loss, t_accuracy, t_log_loss, temperatures))

    print(f"\nRun {run_name} ({summary['variant']}, {height}x{width} {color_mode}, profile {profile.name!r}) on the "
          f"{len(labels)} validation images; P(dog) clipped at 0.02 as the prediction command does. Temperatures "
          f"chosen by {args.folds}-fold cross-validation within the validation split.")
    print(f"Machine: {cpu_description()}; TensorFlow {tf.__version__}, Keras {keras.__version__}; started {started}; "
          f"load average (1 min) {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.\n")
    print(markdown(rows))
    if eval_set is None:
        return

    command = [order.index(v) for v in ("image", "image mirror")]
    temperature = fit_temperature(labels, columns[:, command])
    batches = files_dataset(eval_set.files, (height, width), color_mode)
    indices, eval_columns = view_logits(model, batches, ("image",), "Evaluation set",
                                        total=-(-len(eval_set.files) // 64))
    if len(indices) != len(eval_set.files):
        raise BenchError(f"{len(eval_set.files) - len(indices)} evaluation image(s) could not be decoded.")
    eval_labels = np.asarray(eval_set.labels)[indices]
    plain, scaled = scores(eval_labels, eval_columns), scores(eval_labels, eval_columns, temperature)
    print(f"\nThe prediction command's two views, with the temperature fitted on all {len(labels)} validation "
          f"images (T = {temperature:.2f}), on the evaluation set ({len(eval_labels)} images from {args.eval.name}, "
          "none of them among the training and validation images; measured only):\n")
    print("| P(dog) | eval accuracy | eval log loss |\n|---|---:|---:|")
    print(f"| as the prediction command gives it | {plain[0]:.4f} | {plain[1]:.4f} |")
    print(f"| with T = {temperature:.2f} | {scaled[0]:.4f} | {scaled[1]:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
