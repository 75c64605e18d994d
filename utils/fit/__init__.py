"""Start, train and finish a run, so every run is logged and recorded the same way (notebooks 03-04).

The training itself -- ``model.compile`` and ``model.fit`` with its callbacks -- is written in
the notebooks (03 and 04). This module does the bookkeeping around it:

* :func:`start_run` gives the run a unique name and folder (``logs/<run>/``, created
  exclusively, so two runs started at once never share one), records the hyperparameters for
  TensorBoard's HParams dashboard and marks the run *unfinished* (``started.json``);
* :meth:`Run.callbacks` are the four callbacks every run gets: TensorBoard (``logs/<run>``),
  EarlyStopping, ModelCheckpoint (``models/<run>.keras``) and CSVLogger
  (``logs/<run>/history.csv``);
* :meth:`Run.finish` scores the final weights on the validation split and writes the run's
  :class:`~utils.runs.RunRecord` (``logs/<run>/run.json``): a run is finished exactly when it exists.

:func:`fit_and_log` is all three around ``model.fit`` in one call, and :func:`train_variant`
trains a registered variant (:mod:`utils.models.registry`) with it: that is what the command
line (``python -m utils train``) and the notebooks that only need *a* trained model use.
A variant with ``progressive`` set (progressive resizing) trains in two calls of ``fit`` in one
run, first on smaller images, then at its own input size (:func:`fit_in_phases`: one optimizer,
one history, one ``history.csv``), and its checkpoint is the network rebuilt for that last size.
Run names are ``<variant>-<YYYYmmdd-HHMMSS>`` (plus ``-2``, ``-3``... if taken): re-running
never overwrites an old run.

Every public name is imported from ``utils.fit``: ``run`` holds a run's bookkeeping, ``variants``
trains a registered variant.
"""
from utils.fit.run import (Run, callback_settings, fit_and_log, fit_in_phases, merged_history, save_image_model,
                           start_run)
from utils.fit.variants import learning_rate_schedule, train_variant, variant_datasets, variant_hparams

__all__ = ["Run", "callback_settings", "fit_and_log", "fit_in_phases", "learning_rate_schedule", "merged_history",
           "save_image_model", "start_run", "train_variant", "variant_datasets", "variant_hparams"]
