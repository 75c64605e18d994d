"""Checks for notebook 09's exercises (training speed on a CPU)."""
from __future__ import annotations

from typing import Any

from utils.check._report import exercise


def _resolution(answer: Any) -> str:
    text = str(answer).strip().lower()
    return text if "x" in text or text == "head" else f"{text}x{text}"


@exercise("09.1")
def largest_time_share(resolution: Any, costs: Any) -> tuple[bool, str]:
    """The input resolution whose layers take the largest share of the time in ``costs`` (layer_costs) (notebook 09)."""
    from utils.models.cost import by_resolution

    shares = by_resolution(costs)["share of time"]
    return _resolution(resolution) == shares.idxmax(), "look at by_resolution(costs)['share of time']."


@exercise("09.2")
def largest_batch_gain(resolution: Any, costs_64: Any, costs_128: Any) -> tuple[bool, str]:
    """The resolution whose layers gain most GFLOP/s from a batch of 64 to 128 (two layer_costs tables)
    (notebook 09)."""
    from utils.models.cost import by_resolution

    gain = (by_resolution(costs_128, 128)["GFLOP/s"] / by_resolution(costs_64, 64)["GFLOP/s"]).drop(index="head",
                                                                                                   errors="ignore")
    return _resolution(resolution) == gain.idxmax(), ("compute each resolution's GFLOP/s in both tables "
                                                      "(by_resolution(costs, batch)) and compare.")


@exercise("09.3")
def two_convs_variant(variant: Any) -> tuple[bool, str]:
    """``deeper`` with two convolutions in every block, for 30 epochs (notebook 09)."""
    convs = variant.options.get("convs_per_block")
    if variant.name != "deeper" and not str(variant.name).startswith("deeper"):
        return False, "start from the `deeper` variant."
    if convs != 2 and (not isinstance(convs, (tuple, list)) or set(convs) != {2}):
        return False, "set convs_per_block to 2 (get_variant and train_variant take it as an override)."
    if variant.epochs != 30:
        return False, "train for 30 epochs."
    return True, ""
