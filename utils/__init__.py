"""Shared, tested helpers for the Dogs vs. Cats CNN course, in layers (each module names its notebook).

* ``config``: places, run profiles, constants; the only module that reads the environment.
* ``data/``: sources, download, archives, image checks, split, manifest, tf.data pipeline.
* ``models/``: the registry of variants, their cost, transfer learning.
* ``fit`` (start a run, its callbacks, train a variant) and ``runs`` (the run record: write,
  read, list, rank, the best run); ``tensorboard`` (event files and the server).
* ``predict`` (P(dog) and test-time augmentation), ``evaluate``, ``explain``, ``submission``
  (CSV files) and ``kaggle`` (the kaggle program); ``convolution`` (notebook 02's arithmetic).
* ``plots/``: figures; ``cli/``: ``python -m utils train|submit|runs``.
"""
