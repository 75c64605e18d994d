"""The shape of utils/: one module reads the environment, and every import goes down the layers.

The layers (README, "Where a change belongs"), lowest first; a module may import from its own
layer and the ones below it, never from one above (also not inside a function).
"""
import ast
import re
from pathlib import Path

UTILS = Path(__file__).resolve().parents[1] / "utils"

LAYERS = [
    ["config"],
    ["progress", "convolution", "kaggle"],
    ["data"],
    ["models"],
    ["tensorboard"],
    ["runs"],
    ["predict"],
    ["fit", "evaluate", "explain", "submission"],
    ["plots"],
    ["check"],
    ["cli", "__main__", "train", "submit"],
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def modules(root: Path = UTILS) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__") or "__init__"] = path
    return found


def layer_of(module: str) -> int | None:
    return RANK.get(module.split(".")[0])


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "utils":
                names |= {alias.name for alias in node.names}
            elif node.module.startswith("utils."):
                names.add(node.module.removeprefix("utils."))
        elif isinstance(node, ast.Import):
            names |= {a.name.removeprefix("utils.") for a in node.names if a.name.startswith("utils.")}
    return names


def test_every_module_has_a_layer():
    assert [m for m in modules() if m != "__init__" and layer_of(m) is None] == []


def test_only_config_reads_the_environment():
    readers = [f"{name}: line {n}" for name, path in modules().items() if name != "config"
               for n, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"os\.environ|getenv\(", line)]
    assert readers == []


def test_imports_go_down_the_layers():
    upward = []
    for name, path in modules().items():
        if name == "__init__":
            continue
        for target in sorted(imported(ast.parse(path.read_text()))):
            if layer_of(target) is not None and layer_of(target) > layer_of(name):
                upward.append(f"utils.{name} imports utils.{target}")
    assert upward == []



MAX_LINES = 300  # past this a module holds more than one idea: split it along a seam (issue 16)


def long_modules(root: Path = UTILS) -> dict[str, int]:
    return {name: n for name, path in modules(root).items() if (n := len(path.read_text().splitlines())) > MAX_LINES}


def test_no_module_is_over_300_lines():
    assert long_modules() == {}


def test_a_long_module_is_found(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_LINES)
    assert long_modules(tmp_path) == {"pkg.long": MAX_LINES + 1}
