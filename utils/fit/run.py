"""One run from start to finish: :func:`start_run`, :class:`Run` (its callbacks, :meth:`Run.finish`),
:func:`fit_and_log` around ``model.fit``, and :func:`save_image_model` for a transfer model (notebooks 03, 05)."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import keras
import numpy as np
import pandas as pd

from utils import config
from utils.config import Profile, get_profile, headless
from utils.models.size import count_flops
from utils.predict import model_input
from utils.runs import STARTED_FILE, RunRecord, RunResult, check_run_name, now, write_json

if TYPE_CHECKING:
    import tensorflow as tf

    from utils.models.transfer import TransferModel


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

    def finish(self, model: keras.Model, history: keras.callbacks.History | dict, val_ds: tf.data.Dataset,
               train_seconds: float, strategy: tf.distribute.Strategy | None = None) -> RunResult:
        """Score the weights ``model`` ended with on ``val_ds`` and write ``logs/<run>/run.json``.

        ``history`` is what ``model.fit`` returned. Writes the summary in one piece, so a run
        is either unfinished (no ``run.json``) or complete.
        """
        history = pd.DataFrame(getattr(history, "history", history))
        train_seconds = round(float(train_seconds), 1)  # one value for run.json and the result, so they print alike
        history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)[:2]
        if not self.model_path.is_file():  # a run stopped before its first checkpoint
            model.save(self.model_path)
        RunRecord(
            run=self.name,
            variant=self.variant,
            hparams={k: _hparam_value(v) for k, v in self.hparams.items()},
            params=int(model.count_params()),
            flops=count_flops(model),
            epochs_run=int(len(history)),
            train_seconds=train_seconds,
            best_val_loss=float(val_loss),
            best_val_accuracy=float(val_accuracy),
            model_path=config.relative(self.model_path),
            image_size=[int(d) for d in model.input_shape[1:3]],
            color_mode=model_input(model)[1],
            profile=self.profile,
            created=now(),
        ).write(self.log_dir)
        return RunResult(self.name, model, history, self.model_path, self.log_dir, float(val_loss),
                         float(val_accuracy), train_seconds)


def start_run(variant: str, hparams: dict | None = None, profile: Profile | str | None = None,
              run_name: str | None = None) -> Run:
    """Reserve a new run: its name, ``logs/<run>/``, its HParams record and an *unfinished* mark (notebook 03).

    Without ``run_name`` the name is ``<variant>-<date>-<time>`` with ``-2``, ``-3``... when
    taken. The folder is created exclusively, so two runs started in the same second get two
    names. A given ``run_name`` must be a plain folder name (:func:`check_run_name`) and free.
    """
    if profile is None:
        profile = get_profile()  # CATSDOGS_PROFILE's, so every run records the profile it ran in
    profile_name = getattr(profile, "name", profile)
    logs_dir, models_dir = config.logs_dir(), config.models_dir()
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
        write_json(run.log_dir / STARTED_FILE, {"run": name, "variant": variant, "profile": profile_name,
                                                   "hparams": {k: _hparam_value(v) for k, v in run.hparams.items()},
                                                   "started": now()})
        _write_hparams(run.log_dir, name, run.hparams)
        return run
    raise FileExistsError(
        f"A run named {run_name!r} already exists ({config.relative(logs_dir / str(run_name))}); "
        "choose another name, or leave the name out to get a new one. Nothing was overwritten."
    )


def callback_settings(callbacks: Sequence[keras.callbacks.Callback]) -> list[tuple]:
    """What each callback does, comparable between two lists: (type, the settings that matter) (notebook 03)."""
    keys = ("log_dir", "monitor", "patience", "restore_best_weights", "filepath", "save_best_only", "filename")
    return [(type(c).__name__, *(str(getattr(c, k)) for k in keys if hasattr(c, k))) for c in callbacks]


def fit_in_phases(model: keras.Model, phases: Sequence[tuple], callbacks: Sequence[keras.callbacks.Callback],
                  verbose: int = 0) -> list[keras.callbacks.History | None]:
    """``model.fit`` on each ``(train, validation, last_epoch)`` phase in turn; each one's history (None: did not run).

    Progressive resizing (the registry's ``progressive``, notebook 04's last step, which writes these
    calls out; ``bench/ideas.py``) trains one network
    on small images, then on larger ones: one compiled model and its optimizer go on from phase
    to phase (``initial_epoch`` carries the epoch count), so a learning-rate schedule on the
    optimizer's steps, and Adam's moments, continue across them. The same callbacks see every phase; a ``CSVLogger`` among them
    appends from the second phase on, so its file holds every epoch. If a callback stops training
    early (``model.stop_training``), the later phases do not run. Early stopping starts counting
    again at each phase: Keras resets it when ``fit`` begins.
    """
    histories, start, stopped = [], 0, False
    for train, validation, last_epoch in phases:
        if stopped or last_epoch <= start:
            histories.append(None)
            continue
        histories.append(model.fit(train, validation_data=validation, initial_epoch=start, epochs=last_epoch,
                                   callbacks=list(callbacks), verbose=verbose,
                                   shuffle=False))  # the tf.data pipeline shuffles; Keras would only warn
        start, stopped = last_epoch, model.stop_training  # early stopping ends the whole run
        for callback in callbacks:
            if isinstance(callback, keras.callbacks.CSVLogger):
                callback.append = True  # the next phase adds its epochs to the same file
    return histories


def merged_history(histories: Sequence[keras.callbacks.History | None]) -> dict[str, list]:
    """One history (``{metric: [one value per epoch]}``) from the phases :func:`fit_in_phases` ran, in order."""
    ran = [h.history for h in histories if h is not None]
    return {key: [value for h in ran for value in h.get(key, [])] for key in (ran[0] if ran else {})}


def fit_and_log(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset,
    *,
    hparams: dict,
    epochs: int,
    run_name: str | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    strategy: tf.distribute.Strategy | None = None,
    patience: int = 5,
    variant: str | None = None,
    profile: str | None = None,
    verbose: int | None = None,
    restore_best: bool = True,
    earlier_phases: Sequence[tuple] = (),
    final_model: Callable[[keras.Model], keras.Model] | None = None,
) -> RunResult:
    """:func:`start_run`, ``model.fit`` with :meth:`Run.callbacks` (plus ``callbacks``), :meth:`Run.finish`.

    Notebooks 03 and 04 write these steps out; the command line and later notebooks call this.
    With a ``tf.distribute`` ``strategy``, the model must have been built and compiled inside
    ``strategy.scope()`` (as :func:`train_variant` does); Keras then splits every batch across
    the devices.

    ``earlier_phases`` are ``(train, validation, last_epoch)`` fits that come before the last one
    (``train_ds``, ``val_ds`` up to ``epochs``), in one run with one optimizer and one history
    (:func:`fit_in_phases`; progressive resizing). ``final_model(model)``, if given, is the model
    the run saves to its checkpoint and scores once training ends, e.g. a copy of a network trained
    at several input sides, built for the last one (:func:`~utils.fit.variants.train_variant`).
    """
    if not getattr(model, "compiled", False):
        raise ValueError("Compile the model first (utils.models.registry.build_model returns it compiled).")
    run = start_run(variant or hparams.get("variant") or model.name, hparams, profile, run_name)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    start = time.perf_counter()
    with scope:
        histories = fit_in_phases(model, [*earlier_phases, (train_ds, val_ds, epochs)],
                                  [*run.callbacks(patience, restore_best), *callbacks],
                                  verbose=run.verbose if verbose is None else verbose)
    seconds = time.perf_counter() - start
    if final_model is not None:
        with scope:
            model = final_model(model)
        model.save(run.model_path)  # replaces the last checkpoint: the same weights, for the last input
    return run.finish(model, merged_history(histories), val_ds, seconds, strategy=strategy)


def save_image_model(parts: TransferModel, result: RunResult) -> None:
    """After training the head on features with ``fit_and_log``, make the run's checkpoint the whole
    model (images in, P(dog) out) and describe it in its run record, so later notebooks can load it (notebook 05)."""
    if parts.model.optimizer is not None and not parts.model.optimizer.built:
        parts.model.optimizer.build(parts.model.trainable_variables)  # so it reloads without warnings
    parts.model.save(result.model_path)
    record = RunRecord.read(result.log_dir)
    record.params = int(parts.model.count_params())
    record.flops = count_flops(parts.model)
    record.image_size = list(parts.image_size)
    record.color_mode = "rgb"
    record.write(result.log_dir)
