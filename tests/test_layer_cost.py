"""utils.models.cost (appendix notebook 09, bench/layer_cost.py): per-layer rows, FLOPs and shares (not timings, which vary)."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("overrides", [{}, {"convs_per_block": 2}])
def test_layer_costs_time_every_layer_with_its_own_flops(overrides):
    from utils.models.cost import by_resolution, layer_costs

    costs = layer_costs("deeper", batch=2, repeats=1, overrides=overrides)
    first = costs.set_index("layer").loc["block1_conv1"]
    assert first["MFLOPs"] == pytest.approx(2 * 64 * 64 * 16 * 3 * 3 * 3 / 1e6)  # by hand
    assert first["output"] == "64x64x16" and first["resolution"] == 64
    convs_at_64 = costs[(costs["type"] == "Conv2D") & (costs["resolution"] == 64)]
    assert len(convs_at_64) == (2 if overrides else 1)
    assert "block5_conv2" in set(costs["layer"]) if overrides else "block5_conv2" not in set(costs["layer"])
    assert not costs["type"].isin(["RandomFlip", "RandomRotation", "Dropout"]).any()
    assert (costs["ms"] > 0).all()
    summary = by_resolution(costs)
    assert list(summary.index[:2]) == ["64x64", "32x32"] and summary.index[-1] == "head"
    # the head (Flatten/Dense after the last pooling) does a tiny share of the work
    assert summary.loc["head", "share of FLOPs"] < 0.05
    assert "GFLOP/s" not in summary
    speed = by_resolution(costs, batch=2).loc["64x64", "GFLOP/s"]  # 3 x MFLOPs per image x batch / ms
    at_64 = costs[costs["resolution"] == 64]
    assert speed == pytest.approx(3 * at_64["MFLOPs"].sum() * 2 / at_64["ms"].sum())


def test_cpu_description_names_the_vector_instructions():
    from utils.models.cost import cpu_description

    text = cpu_description()
    assert "logical CPUs" in text
    flags = open("/proc/cpuinfo").read() if __import__("os").path.exists("/proc/cpuinfo") else ""
    assert ("AVX2" in text) == (" avx2" in flags)


def test_bf16_support_follows_the_cpu_flags():
    from utils.models.cost import bf16_supported

    flags = open("/proc/cpuinfo").read() if __import__("os").path.exists("/proc/cpuinfo") else ""
    assert bf16_supported() == (" avx512_bf16" in flags or " amx_bf16" in flags)
