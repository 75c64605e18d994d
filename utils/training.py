"""Train a model and keep a record of the run (introduced in notebook 03, used by every later one).

:func:`fit_and_log` trains any compiled Keras model and writes, for a run named ``<run>``:

* ``logs/<run>/train`` and ``logs/<run>/validation``: TensorBoard scalars and the model graph;
* ``logs/<run>``: the run's hyperparameters for TensorBoard's HParams dashboard;
* ``logs/<run>/history.csv``: the loss and accuracy of every epoch;
* ``logs/<run>/run.json``: a summary (variant, sizes, best validation scores, time);
* ``models/<run>.keras``: the checkpoint with the best validation loss.

:func:`train_variant` does everything from a variant name (see :mod:`utils.models`): seeds,
input pipeline, the profile's epochs, the learning-rate schedule, then :func:`fit_and_log`.
:func:`list_runs` reads every ``run.json`` back into one table. Run names are
``<variant>-<YYYYmmdd-HHMMSS>`` (plus ``-2``, ``-3``... if taken): re-running never
overwrites an old run.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from utils import paths
from utils.progress import headless

RUN_COLUMNS = [
    "run", "variant", "best_val_accuracy", "best_val_loss", "epochs_run", "train_seconds",
    "params", "flops", "image_size", "color_mode", "profile", "created", "model_path",
]


@dataclass
class RunResult:
    """What a training run produced (notebook 03)."""

    run_name: str
    model: keras.Model
    history: pd.DataFrame  # one row per epoch: loss, accuracy, val_loss, val_accuracy, ...
    model_path: Path  # models/<run>.keras (best validation loss)
    log_dir: Path  # logs/<run>
    val_loss: float  # of the restored best weights, on the validation split
    val_accuracy: float
    train_seconds: float

    @property
    def summary(self) -> dict:
        return json.loads((self.log_dir / "run.json").read_text())


def run_name_for(variant: str, logs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """A readable, unused run name: ``<variant>-<YYYYmmdd-HHMMSS>``, ``-2``, ``-3``... if taken (notebook 03)."""
    logs_dir = Path(logs_dir or paths.logs_dir())
    models_dir = Path(models_dir or paths.models_dir())
    stem = f"{variant}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    name, n = stem, 1
    while (logs_dir / name).exists() or (models_dir / f"{name}.keras").exists():
        n += 1
        name = f"{stem}-{n}"
    return name


def run_exists(run_name: str) -> bool:
    """True when a finished run (``logs/<run>/run.json``) or its checkpoint already uses this name."""
    return (paths.logs_dir() / run_name / "run.json").exists() or (paths.models_dir() / f"{run_name}.keras").exists()


def read_run_info(run_dir: Path | str) -> dict:
    """The ``run.json`` summary a run wrote ({} when it has none or it is damaged) (notebook 04)."""
    path = Path(run_dir) / "run.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _hparam_value(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return "x".join(map(str, value))
    return str(value)


def _write_hparams(log_dir: Path, run_name: str, hparams: dict) -> None:
    """Record the run's hyperparameters for TensorBoard's HParams dashboard."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams({k: _hparam_value(v) for k, v in hparams.items()}, trial_id=run_name)


def _color_mode_of(model: keras.Model) -> str:
    return "grayscale" if model.input_shape[-1] == 1 else "rgb"


def fit_and_log(
    model: keras.Model,
    train_ds,
    val_ds,
    *,
    run_name: str,
    hparams: dict,
    epochs: int,
    callbacks=(),
    strategy=None,
    patience: int = 5,
    variant: str | None = None,
    profile: str | None = None,
    verbose=None,
    restore_best: bool = True,
) -> RunResult:
    """Train a compiled ``model`` and log the run as ``run_name`` (notebook 03).

    Adds the callbacks every run gets (TensorBoard with the graph, HParams, EarlyStopping that
    restores the best weights, ModelCheckpoint to ``models/<run>.keras``, CSVLogger to
    ``logs/<run>/history.csv``) to ``callbacks``, trains, evaluates the restored best weights
    on ``val_ds`` and writes ``logs/<run>/run.json``. With a ``tf.distribute`` ``strategy``,
    the model must have been built and compiled inside ``strategy.scope()`` (as
    :func:`train_variant` does); Keras then splits every batch across the devices.
    Refuses to reuse the name of a finished run, so nothing is overwritten.

    ``restore_best=False`` keeps (and checkpoints) the last epoch's weights instead: right for a
    schedule that anneals the learning rate to 0, whose last epoch is the point of the schedule
    (notebook 04); EarlyStopping still ends a run that stops improving.
    """
    from utils.models import count_flops

    log_dir = paths.logs_dir() / run_name
    model_path = paths.models_dir() / f"{run_name}.keras"
    if run_exists(run_name):
        raise FileExistsError(
            f"A run named {run_name!r} already exists ({paths.relative(log_dir)}); "
            "choose another name (utils.training.run_name_for gives a free one)."
        )
    if not getattr(model, "compiled", False):
        raise ValueError("Compile the model first (utils.models.build_model returns it compiled).")
    log_dir.mkdir(parents=True, exist_ok=True)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    _write_hparams(log_dir, run_name, hparams)

    standard = [
        keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=True, histogram_freq=0, profile_batch=0),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=restore_best),
        keras.callbacks.ModelCheckpoint(str(model_path), monitor="val_loss", save_best_only=restore_best),
        keras.callbacks.CSVLogger(str(log_dir / "history.csv")),
    ]
    if verbose is None:
        verbose = 2 if headless() else 1
    def scope():
        return strategy.scope() if strategy is not None else contextlib.nullcontext()

    start = time.perf_counter()
    with scope():
        fit = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[*standard, *callbacks],
                        verbose=verbose, shuffle=False)  # the input pipeline shuffles
    train_seconds = time.perf_counter() - start
    history = pd.DataFrame(fit.history)
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")

    with scope():
        val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)[:2]
    summary = {
        "run": run_name,
        "variant": variant or hparams.get("variant") or model.name,
        "hparams": {k: _hparam_value(v) for k, v in hparams.items()},
        "params": int(model.count_params()),
        "flops": count_flops(model),
        "epochs_run": int(len(history)),
        "train_seconds": round(train_seconds, 1),
        "best_val_loss": float(val_loss),
        "best_val_accuracy": float(val_accuracy),
        "model_path": f"models/{run_name}.keras",
        "image_size": [int(d) for d in model.input_shape[1:3]],
        "color_mode": _color_mode_of(model),
        "profile": profile,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (log_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return RunResult(run_name, model, history, model_path, log_dir, float(val_loss), float(val_accuracy),
                     train_seconds)


def _cache_for(frame: pd.DataFrame, image_size, channels: int):
    """Keep decoded images in RAM when they fit in 2 GB (every profile but ``full`` at large sizes)."""
    return "memory" if len(frame) * image_size[0] * image_size[1] * channels < 2e9 else None


def learning_rate_schedule(variant, steps_per_epoch: int, epochs: int):
    """The learning rate a variant trains with: a float, or a Keras schedule (notebook 04).

    ``lr_schedule=None`` keeps ``variant.learning_rate`` constant. ``"cosine"`` lowers it along
    half a cosine to 0 at the last step; with ``warmup_epochs`` it first rises linearly from 0
    to ``variant.learning_rate`` over that many epochs (so a high rate does not hit the freshly
    initialised weights and BatchNormalization statistics at full strength), then decays.
    """
    if variant.lr_schedule is None:
        return variant.learning_rate
    if variant.lr_schedule != "cosine":
        raise ValueError(f"Unknown lr_schedule {variant.lr_schedule!r}: use None or 'cosine'.")
    total = max(1, steps_per_epoch * epochs)
    warmup = min(variant.warmup_epochs * steps_per_epoch, total - 1)
    if warmup <= 0:
        return keras.optimizers.schedules.CosineDecay(variant.learning_rate, decay_steps=total)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=total - warmup, warmup_target=variant.learning_rate,
                                                  warmup_steps=warmup)


def train_variant(name: str, frame: pd.DataFrame | None = None, profile=None, run_name: str | None = None,
                  strategy=None, epochs: int | None = None, callbacks=(), **overrides) -> RunResult:
    """Build, train and log the registered variant ``name`` (notebook 03).

    ``frame`` is the manifest (default: :func:`utils.dataset.load_manifest` for the profile);
    ``profile`` a :class:`~utils.profiles.Profile` or its name (default: ``CATSDOGS_PROFILE``);
    ``epochs`` replaces the variant's own number; either is capped by the profile.
    ``overrides`` change the variant (see :func:`utils.models.build_model`).
    """
    from utils.models import build_model, get_variant
    from utils.pipeline import make_dataset
    from utils.profiles import Profile, get_profile

    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    variant = get_variant(name, **overrides)
    if frame is None:
        from utils.dataset import load_manifest

        frame = load_manifest(profile)
    keras.utils.set_random_seed(profile.seed)
    epochs = profile.epochs(epochs or variant.epochs)
    run_name = run_name or run_name_for(name)

    cache = _cache_for(frame, variant.image_size, variant.channels)
    common = dict(image_size=variant.image_size, color_mode=variant.color_mode, batch_size=variant.batch_size,
                  cache=cache, seed=profile.seed)
    train_ds = make_dataset(frame, "train", **common)
    val_ds = make_dataset(frame, "validation", **common)

    steps_per_epoch = math.ceil(int((frame["split"] == "train").sum()) / variant.batch_size)
    learning_rate = learning_rate_schedule(variant, steps_per_epoch, epochs)
    model_overrides = {k: v for k, v in overrides.items() if k != "learning_rate"}
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        model = build_model(name, learning_rate=learning_rate, **model_overrides)

    hparams = {
        "variant": name,
        "image_size": variant.image_size,
        "color_mode": variant.color_mode,
        "batch_size": variant.batch_size,
        "learning_rate": variant.learning_rate,
        "lr_schedule": variant.lr_schedule or "constant",
        "warmup_epochs": variant.warmup_epochs,
        "restore_best": variant.restore_best,
        "max_epochs": epochs,
        "profile": profile.name,
        **{k: v for k, v in variant.options.items() if k != "builder"},
    }
    return fit_and_log(model, train_ds, val_ds, run_name=run_name, hparams=hparams, epochs=epochs,
                       callbacks=callbacks, strategy=strategy, patience=variant.patience, variant=name,
                       profile=profile.name, restore_best=variant.restore_best)


def list_runs(logs_dir: Path | str | None = None) -> pd.DataFrame:
    """Every finished run's ``run.json`` under ``logs/``, oldest first, one row per run (notebook 04)."""
    logs_dir = Path(logs_dir or paths.logs_dir())
    # a run being written, or a damaged file, gives {}: skip it rather than fail the table
    rows = [info for path in sorted(logs_dir.glob("*/run.json")) if (info := read_run_info(path.parent))]
    if not rows:
        return pd.DataFrame(columns=RUN_COLUMNS)
    table = pd.DataFrame(rows)
    for column in RUN_COLUMNS:
        if column not in table:
            table[column] = None
    extra = [c for c in table.columns if c not in RUN_COLUMNS]
    return table[RUN_COLUMNS + extra].sort_values("created", kind="stable").reset_index(drop=True)


def load_run(run_name: str, with_model: bool = True) -> RunResult:
    """A finished run read back from disk: its summary, history and (optionally) checkpoint (notebook 04)."""
    log_dir = paths.logs_dir() / run_name
    summary_path = log_dir / "run.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"No finished run named {run_name!r} in {paths.relative(paths.logs_dir())}; "
                                "list_runs() shows the runs there.")
    summary = json.loads(summary_path.read_text())
    history = pd.read_csv(log_dir / "history.csv")
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
    history = history.drop(columns=["epoch"], errors="ignore")
    model_path = paths.home() / summary["model_path"]
    model = keras.models.load_model(model_path) if with_model else None
    return RunResult(run_name, model, history, model_path, log_dir, summary["best_val_loss"],
                     summary["best_val_accuracy"], summary["train_seconds"])
