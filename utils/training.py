"""Keep a record of every training run (introduced in notebook 03, used by every later one).

The training itself -- ``model.compile`` and ``model.fit`` with its callbacks -- is written in
the notebooks (03 and 04). This module does the bookkeeping around it, so every run is
logged and recorded the same way:

* :func:`start_run` gives the run a unique name and folder (``logs/<run>/``, created
  exclusively, so two runs started at once never share one), records the hyperparameters for
  TensorBoard's HParams dashboard and marks the run *unfinished* (``started.json``);
* :meth:`Run.callbacks` are the four callbacks every run gets: TensorBoard (``logs/<run>``),
  EarlyStopping, ModelCheckpoint (``models/<run>.keras``) and CSVLogger
  (``logs/<run>/history.csv``);
* :meth:`Run.finish` scores the final weights on the validation split and writes
  ``logs/<run>/run.json``: a run is finished exactly when that file exists.

:func:`fit_and_log` is all three around ``model.fit`` in one call, and :func:`train_variant`
trains a registered variant (:mod:`utils.models`) with it: that is what the command line
(``python -m utils.train``) and the notebooks that only need *a* trained model use.
:func:`list_runs` reads every ``run.json`` back into one table. Run names are
``<variant>-<YYYYmmdd-HHMMSS>`` (plus ``-2``, ``-3``... if taken): re-running never
overwrites an old run.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
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

#: A run name is one folder name: letters, digits, '-', '_' and '.', not starting with '.'.
RUN_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}")


@dataclass
class RunResult:
    """What a training run produced (notebook 03)."""

    run_name: str
    model: keras.Model
    history: pd.DataFrame  # one row per epoch: loss, accuracy, val_loss, val_accuracy, ...
    model_path: Path  # models/<run>.keras
    log_dir: Path  # logs/<run>
    val_loss: float  # of the weights the run ended with, on the validation split
    val_accuracy: float
    train_seconds: float

    @property
    def summary(self) -> dict:
        return json.loads((self.log_dir / "run.json").read_text())


def check_run_name(run_name: str) -> str:
    """``run_name`` if it is a safe folder name, else a ValueError that says what is allowed."""
    if not isinstance(run_name, str) or not RUN_NAME_PATTERN.fullmatch(run_name):
        raise ValueError(
            f"{run_name!r} is not a usable run name: use up to 120 letters, digits, '-', '_' or '.', "
            "not starting with '.' (it becomes the folder logs/<run> and the file models/<run>.keras)."
        )
    return run_name


def run_name_for(variant: str, logs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """A readable name no run uses yet: ``<variant>-<YYYYmmdd-HHMMSS>``, ``-2``, ``-3``... (notebook 03).

    Only a suggestion: :func:`start_run` is what reserves a name.
    """
    logs_dir = Path(logs_dir or paths.logs_dir())
    models_dir = Path(models_dir or paths.models_dir())
    stem = f"{variant}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    name, n = stem, 1
    while (logs_dir / name).exists() or (models_dir / f"{name}.keras").exists():
        n += 1
        name = f"{stem}-{n}"
    return name


def run_exists(run_name: str) -> bool:
    """True when a run (finished or not) or its checkpoint already uses this name."""
    return (paths.logs_dir() / run_name).exists() or (paths.models_dir() / f"{run_name}.keras").exists()


def read_run_info(run_dir: Path | str) -> dict:
    """The ``run.json`` summary a finished run wrote ({} when it has none or it is damaged) (notebook 04)."""
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


def _write_json(path: Path, content: dict) -> None:
    """Write ``content`` to ``path`` whole or not at all (a temporary file, then a rename)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(partial, path)


def _color_mode_of(model: keras.Model) -> str:
    return "grayscale" if model.input_shape[-1] == 1 else "rgb"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Run:
    """One training run's name and places on disk, from :func:`start_run` to :meth:`finish` (notebook 03)."""

    name: str
    log_dir: Path  # logs/<run>: TensorBoard events, history.csv, started.json, run.json
    model_path: Path  # models/<run>.keras
    variant: str
    profile: str | None = None
    hparams: dict = field(default_factory=dict)

    @property
    def history_path(self) -> Path:
        return self.log_dir / "history.csv"

    @property
    def verbose(self) -> int:
        """``model.fit``'s ``verbose``: a live progress bar (1) in JupyterLab, one line per epoch (2) headless."""
        return 2 if headless() else 1

    def callbacks(self, patience: int = 5, restore_best: bool = True) -> list:
        """The four callbacks every run trains with (notebook 03 writes them out one by one).

        ``restore_best=False`` keeps (and checkpoints) the last epoch's weights instead of the
        best validation loss's: right for a schedule that anneals the learning rate to 0, whose
        last epoch is the point of the schedule (notebook 04).
        """
        return [
            keras.callbacks.TensorBoard(log_dir=str(self.log_dir)),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=restore_best),
            keras.callbacks.ModelCheckpoint(str(self.model_path), monitor="val_loss", save_best_only=restore_best),
            keras.callbacks.CSVLogger(str(self.history_path)),
        ]

    def finish(self, model: keras.Model, history, val_ds, train_seconds: float, strategy=None) -> RunResult:
        """Score the weights ``model`` ended with on ``val_ds`` and write ``logs/<run>/run.json``.

        ``history`` is what ``model.fit`` returned. Writes the summary in one piece, so a run
        is either unfinished (no ``run.json``) or complete.
        """
        from utils.models import count_flops

        history = pd.DataFrame(getattr(history, "history", history))
        history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)[:2]
        if not self.model_path.is_file():  # a run stopped before its first checkpoint
            model.save(self.model_path)
        summary = {
            "run": self.name,
            "variant": self.variant,
            "hparams": {k: _hparam_value(v) for k, v in self.hparams.items()},
            "params": int(model.count_params()),
            "flops": count_flops(model),
            "epochs_run": int(len(history)),
            "train_seconds": round(float(train_seconds), 1),
            "best_val_loss": float(val_loss),
            "best_val_accuracy": float(val_accuracy),
            "model_path": paths.relative(self.model_path),
            "image_size": [int(d) for d in model.input_shape[1:3]],
            "color_mode": _color_mode_of(model),
            "profile": self.profile,
            "created": _now(),
        }
        _write_json(self.log_dir / "run.json", summary)
        return RunResult(self.name, model, history, self.model_path, self.log_dir, float(val_loss),
                         float(val_accuracy), float(train_seconds))


def start_run(variant: str, hparams: dict | None = None, profile=None, run_name: str | None = None) -> Run:
    """Reserve a new run: its name, ``logs/<run>/``, its HParams record and an *unfinished* mark (notebook 03).

    Without ``run_name`` the name is ``<variant>-<date>-<time>`` with ``-2``, ``-3``... when
    taken. The folder is created exclusively, so two runs started in the same second get two
    names. A given ``run_name`` must be a plain folder name (:func:`check_run_name`) and free.
    """
    if profile is None:
        from utils.profiles import get_profile

        profile = get_profile()  # CATSDOGS_PROFILE's, so every run records the profile it ran in
    profile_name = getattr(profile, "name", profile)
    logs_dir, models_dir = paths.logs_dir(), paths.models_dir()
    logs_dir.mkdir(parents=True, exist_ok=True)
    models_dir.mkdir(parents=True, exist_ok=True)
    if run_name is not None:
        check_run_name(run_name)
        candidates = [run_name]
    else:
        stem = check_run_name(f"{variant}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
        candidates = (stem if n == 1 else f"{stem}-{n}" for n in range(1, 10_000))
    for name in candidates:
        if (models_dir / f"{name}.keras").exists():
            if run_name is not None:
                break
            continue
        try:
            (logs_dir / name).mkdir()
        except FileExistsError:
            if run_name is not None:
                break
            continue
        run = Run(name, logs_dir / name, models_dir / f"{name}.keras", variant, profile_name, dict(hparams or {}))
        _write_json(run.log_dir / "started.json", {"run": name, "variant": variant, "profile": profile_name,
                                                   "hparams": {k: _hparam_value(v) for k, v in run.hparams.items()},
                                                   "started": _now()})
        _write_hparams(run.log_dir, name, run.hparams)
        return run
    raise FileExistsError(
        f"A run named {run_name!r} already exists ({paths.relative(logs_dir / str(run_name))}); "
        "choose another name, or leave the name out to get a new one. Nothing was overwritten."
    )


def callback_settings(callbacks) -> list[tuple]:
    """What each callback does, comparable between two lists: (type, the settings that matter) (notebook 03)."""
    keys = ("log_dir", "monitor", "patience", "restore_best_weights", "filepath", "save_best_only", "filename")
    return [(type(c).__name__, *(str(getattr(c, k)) for k in keys if hasattr(c, k))) for c in callbacks]


def fit_and_log(
    model: keras.Model,
    train_ds,
    val_ds,
    *,
    hparams: dict,
    epochs: int,
    run_name: str | None = None,
    callbacks=(),
    strategy=None,
    patience: int = 5,
    variant: str | None = None,
    profile: str | None = None,
    verbose=None,
    restore_best: bool = True,
) -> RunResult:
    """:func:`start_run`, ``model.fit`` with :meth:`Run.callbacks` (plus ``callbacks``), :meth:`Run.finish`.

    Notebooks 03 and 04 write these steps out; the command line and later notebooks call this.
    With a ``tf.distribute`` ``strategy``, the model must have been built and compiled inside
    ``strategy.scope()`` (as :func:`train_variant` does); Keras then splits every batch across
    the devices.
    """
    if not getattr(model, "compiled", False):
        raise ValueError("Compile the model first (utils.models.build_model returns it compiled).")
    run = start_run(variant or hparams.get("variant") or model.name, hparams, profile, run_name)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    start = time.perf_counter()
    with scope:
        fit = model.fit(train_ds, validation_data=val_ds, epochs=epochs,
                        callbacks=[*run.callbacks(patience, restore_best), *callbacks],
                        verbose=run.verbose if verbose is None else verbose,
                        shuffle=False)  # the tf.data pipeline shuffles; Keras would only warn
    return run.finish(model, fit, val_ds, time.perf_counter() - start, strategy=strategy)


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


def variant_datasets(frame: pd.DataFrame, variant, seed: int = 42):
    """The training and validation ``tf.data`` pipelines at a variant's size, colour and batch size (notebook 04)."""
    from utils.pipeline import make_dataset

    common = dict(image_size=variant.image_size, color_mode=variant.color_mode, batch_size=variant.batch_size,
                  cache=_cache_for(frame, variant.image_size, variant.channels), seed=seed)
    return make_dataset(frame, "train", **common), make_dataset(frame, "validation", **common)


def variant_hparams(variant, epochs: int, profile: str | None = None) -> dict:
    """The hyperparameters a run of ``variant`` records for TensorBoard's HParams dashboard (notebook 04)."""
    return {
        "variant": variant.name,
        "image_size": variant.image_size,
        "color_mode": variant.color_mode,
        "batch_size": variant.batch_size,
        "learning_rate": variant.learning_rate,
        "lr_schedule": variant.lr_schedule or "constant",
        "warmup_epochs": variant.warmup_epochs,
        "restore_best": variant.restore_best,
        "max_epochs": epochs,
        "profile": profile,
        **{k: v for k, v in variant.options.items() if k != "builder"},
    }


def train_variant(name: str, frame: pd.DataFrame | None = None, profile=None, run_name: str | None = None,
                  strategy=None, epochs: int | None = None, callbacks=(), **overrides) -> RunResult:
    """Build, train and log the registered variant ``name``: what notebooks 03 and 04 write out (notebook 04).

    ``frame`` is the manifest (default: :func:`utils.dataset.load_manifest` for the profile);
    ``profile`` a :class:`~utils.profiles.Profile` or its name (default: ``CATSDOGS_PROFILE``);
    ``epochs`` replaces the variant's own number; either is capped by the profile.
    ``overrides`` change the variant (see :func:`utils.models.build_model`).
    """
    from utils.models import build_model, get_variant
    from utils.profiles import Profile, get_profile

    if run_name is not None:
        check_run_name(run_name)
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    variant = get_variant(name, **overrides)
    if frame is None:
        from utils.dataset import load_manifest

        frame = load_manifest(profile)
    keras.utils.set_random_seed(profile.seed)
    epochs = profile.epochs(epochs or variant.epochs)
    train_ds, val_ds = variant_datasets(frame, variant, seed=profile.seed)

    steps_per_epoch = math.ceil(int((frame["split"] == "train").sum()) / variant.batch_size)
    learning_rate = learning_rate_schedule(variant, steps_per_epoch, epochs)
    model_overrides = {k: v for k, v in overrides.items() if k != "learning_rate"}
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        model = build_model(name, learning_rate=learning_rate, **model_overrides)
    return fit_and_log(model, train_ds, val_ds, run_name=run_name, hparams=variant_hparams(variant, epochs, profile.name),
                       epochs=epochs, callbacks=callbacks, strategy=strategy, patience=variant.patience, variant=name,
                       profile=profile.name, restore_best=variant.restore_best)


def list_runs(logs_dir: Path | str | None = None, include_unfinished: bool = False) -> pd.DataFrame:
    """Every finished run's ``run.json`` under ``logs/``, oldest first, one row per run (notebook 04).

    ``include_unfinished=True`` adds the runs that started but never wrote ``run.json``
    (interrupted, or still training), from their ``started.json``; column ``finished`` tells them apart.
    """
    logs_dir = Path(logs_dir or paths.logs_dir())
    rows = []
    for folder in sorted(p for p in logs_dir.glob("*") if p.is_dir()):
        info = read_run_info(folder)  # {} for a run being written, or a damaged file
        if info:
            rows.append({**info, "finished": True})
        elif include_unfinished and (folder / "started.json").is_file():
            try:
                started = json.loads((folder / "started.json").read_text())
            except (OSError, json.JSONDecodeError):
                started = {"run": folder.name}
            rows.append({"run": folder.name, "variant": started.get("variant"), "profile": started.get("profile"),
                         "created": started.get("started"), "finished": False})
    if not rows:
        return pd.DataFrame(columns=[*RUN_COLUMNS, "finished"] if include_unfinished else RUN_COLUMNS)
    table = pd.DataFrame(rows)
    if not include_unfinished:
        table = table.drop(columns="finished")
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
