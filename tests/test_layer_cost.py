"""bench/layer_cost.py: its per-layer rows add up to the model it times (not its timings, which vary)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from utils.models import build_model, count_flops


@pytest.fixture(scope="module")
def layer_cost():
    path = Path(__file__).resolve().parent.parent / "bench" / "layer_cost.py"
    spec = importlib.util.spec_from_file_location("layer_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("overrides", [{}, {"convs_per_block": 2}])
def test_rows_cover_every_flop_and_overrides_reach_the_model(layer_cost, overrides):
    rows = layer_cost.layer_costs("deeper", batch=2, repeats=1, overrides=overrides)
    model = build_model("deeper", compile=False, **overrides)
    assert sum(row["MFLOPs"] for row in rows) == pytest.approx(count_flops(model) / 1e6)
    convs_at_64 = [row for row in rows if row["layer"] == "Conv2D" and row["resolution"] == 64]
    assert len(convs_at_64) == (2 if overrides else 1)
    assert all(row["ms"] > 0 for row in rows)
