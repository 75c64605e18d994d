"""The course's settings: places, run profiles, constants and every environment variable (notebook 01).

This is the only module that reads the environment. Everything below it gets what it needs
from here, or as an argument (a :class:`Profile`, resolved once by a notebook's setup cell or
by the command line).

* Places: everything a run produces stays in folders git ignores under the project home
  (``CATSDOGS_HOME``, default the project folder): ``data/``, ``models/``, ``logs/``.
* Run profiles (``CATSDOGS_PROFILE``): ``smoke`` (a few hundred images, one epoch: CI),
  ``default`` (a laptop CPU: up to 4,000 labelled and 1,000 test images), ``full`` (every image found).
  The same code runs in every profile; only these numbers change.
* Constants shared by every notebook: the class names, the decision threshold, the seed and
  Kaggle's competition name.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Label 0 is a cat, 1 a dog: the models' one output is P(dog).
CLASS_NAMES = ("cat", "dog")
LABEL_NAMES = dict(enumerate(CLASS_NAMES))  # label -> name
#: A prediction says "dog" when P(dog) > THRESHOLD.
THRESHOLD = 0.5
#: The seed of every split, shuffle and weight initialisation.
SEED = 42
#: Kaggle's Dogs vs. Cats (Redux) competition: where the data come from and submissions go.
COMPETITION = "dogs-vs-cats-redux-kernels-edition"

HOME_VARIABLE = "CATSDOGS_HOME"
PROFILE_VARIABLE = "CATSDOGS_PROFILE"
DATA_VARIABLE = "CATSDOGS_DATA"  # a folder (or zip) of real data the learner already has (source a)
SAMPLE_URL_VARIABLE = "CATSDOGS_SAMPLE_URL"  # another URL for source d (a mirror, or a test server)
HEADLESS_VARIABLE = "CATSDOGS_HEADLESS"
SUBMIT_VARIABLE = "CATSDOGS_SUBMIT"  # "1": the learner opts in to submitting (notebook 08)
TENSORBOARD_BINARY_VARIABLE = "TENSORBOARD_BINARY"
TENSORBOARD_PROXY_VARIABLE = "TENSORBOARD_PROXY_URL"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def pin_relative_paths() -> None:
    """Make a relative ``CATSDOGS_HOME`` or ``CATSDOGS_DATA`` absolute, against the current directory.

    ``make series`` starts each notebook's kernel in ``notebooks/``: without this, the
    ``CATSDOGS_DATA=../data`` a learner typed in the project folder would be looked up from there.
    """
    for name in (HOME_VARIABLE, DATA_VARIABLE):
        value = _env(name)
        if value:
            os.environ[name] = str(Path(value).expanduser().absolute())


# --------------------------------------------------------------------------- places


def home() -> Path:
    """The folder holding data/, models/ and logs/ (the project root unless CATSDOGS_HOME is set) (notebook 06)."""
    return Path(_env(HOME_VARIABLE) or PROJECT_ROOT).resolve()


def data_dir() -> Path:
    return home() / "data"


def raw_dir() -> Path:
    """Where a learner drops Kaggle's zips by hand (source b) (notebook 01)."""
    return data_dir() / "raw"


def models_dir() -> Path:
    return home() / "models"


def logs_dir() -> Path:
    return home() / "logs"


def relative(path: Path | str) -> str:
    """A path shown to the learner: relative to the project home, never a local absolute path (notebook 01)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(home()).as_posix()
    except ValueError:
        return path.name


# --------------------------------------------------------------------------- run profiles


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    max_labelled: int | None  # labelled images used, balanced between the classes (None: all)
    max_test: int | None  # unlabelled test images used (None: all)
    validation_fraction: float  # share of the labelled images held out for validation
    max_epochs: int | None  # caps every training run (None: each model's own number)
    seed: int = SEED

    def epochs(self, wanted: int) -> int:
        """The epochs a run gets: what the model asks for, capped by the profile."""
        return wanted if self.max_epochs is None else max(1, min(wanted, self.max_epochs))


PROFILES = {
    "smoke": Profile("smoke", "CI: a few hundred images, one epoch", 240, 40, 0.25, 1),
    "default": Profile("default", "a laptop CPU: up to 4,000 labelled and 1,000 test images", 4000, 1000, 0.2, None),
    "full": Profile("full", "every image found: a GPU or a long CPU run", None, None, 0.1, None),
}


def get_profile(name: Profile | str | None = None) -> Profile:
    """The profile given or named, else the one ``CATSDOGS_PROFILE`` names, else ``default`` (notebook 01)."""
    if isinstance(name, Profile):
        return name
    name = (name or _env(PROFILE_VARIABLE) or "default").strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"Unknown run profile {name!r} (from {PROFILE_VARIABLE}). "
            f"Choose one of: {', '.join(PROFILES)}."
        )
    return PROFILES[name]


# --------------------------------------------------------------------------- the environment


def headless() -> bool:
    """True in a non-interactive run: ``CATSDOGS_HEADLESS=1``, or (when the variable is unset)
    a command whose standard output is not a terminal. A Jupyter kernel is interactive (notebook 01)."""
    value = _env(HEADLESS_VARIABLE)
    if value:
        return value != "0"
    if "ipykernel" in sys.modules:
        return False
    try:
        return not sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return True


def data_override() -> Path | None:
    """The folder ``CATSDOGS_DATA`` names (source a), or None when it is unset (notebook 01)."""
    value = _env(DATA_VARIABLE)
    return Path(value).expanduser() if value else None


def sample_url(default: str) -> str:
    """``CATSDOGS_SAMPLE_URL``, or ``default`` (source d) (notebook 01)."""
    return _env(SAMPLE_URL_VARIABLE) or default


def submit_requested() -> bool:
    """True when ``CATSDOGS_SUBMIT`` is 1 (or yes/true): the learner opts in to submitting (notebook 08)."""
    return _env(SUBMIT_VARIABLE).lower() in ("1", "yes", "true")


def kaggle_credentials_source() -> str | None:
    """Where Kaggle credentials would come from (a description, never their value), or None (notebook 01)."""
    if _env("KAGGLE_API_TOKEN") or (_env("KAGGLE_USERNAME") and _env("KAGGLE_KEY")):
        return "environment variables"
    configured = _env("KAGGLE_CONFIG_DIR")
    folder = Path(configured) if configured else Path.home() / ".kaggle"
    for name in ("kaggle.json", "access_token"):
        if (folder / name).is_file():
            return f"$KAGGLE_CONFIG_DIR/{name}" if configured else f"~/.kaggle/{name}"
    return None


def keras_home() -> Path:
    """Keras' home folder, as Keras finds it: ``KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when home is read-only)
    (notebook 01)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
    return base / ".keras"


def keras_home_set() -> bool:
    """True when ``KERAS_HOME`` moves Keras' cache folder (notebook 01)."""
    return "KERAS_HOME" in os.environ


def tensorboard_binary_setting() -> str | None:
    """The ``tensorboard`` program ``TENSORBOARD_BINARY`` names, or None (notebook 01)."""
    return _env(TENSORBOARD_BINARY_VARIABLE) or None


def set_tensorboard_binary(binary: str) -> None:
    """Tell the ``%tensorboard`` magic which program to start (it reads ``TENSORBOARD_BINARY``) (notebook 01)."""
    os.environ[TENSORBOARD_BINARY_VARIABLE] = binary


def tensorboard_proxy() -> str | None:
    """``TENSORBOARD_PROXY_URL`` (JupyterHub's proxy, ``%PORT%`` in it), or None (notebook 01)."""
    return _env(TENSORBOARD_PROXY_VARIABLE) or None


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up messages out of a command's output (unless the user set the level)
    (notebook 01)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def child_environment(**settings: str) -> dict[str, str]:
    """The environment for a child process: this one, TensorFlow quiet, plus ``settings`` (notebook 01)."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **settings}
