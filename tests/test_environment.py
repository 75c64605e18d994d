"""The conda environment and the pip requirements pin the same versions; the notebooks import utils."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(text: str) -> dict[str, str]:
    found = re.findall(r"^\s*(?:-\s*)?([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", text, re.M)
    return {name.lower(): version for name, version in found}


def test_environment_yml_pins_what_requirements_pin():
    required = pins((ROOT / "requirements.txt").read_text())
    conda = pins((ROOT / "environment.yml").read_text())
    assert required, "requirements.txt pins nothing"
    assert conda == required


def test_every_requirement_is_pinned_and_explained():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert "==" in line and "#" in line, f"pin it and say why: {line!r}"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pins((ROOT / "requirements.txt").read_text()).items():
        assert version(name) == pinned, name


def test_python_is_3_11():
    import sys

    assert sys.version_info[:2] == (3, 11)
