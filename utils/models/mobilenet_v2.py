"""MobileNetV2's stages read from a built base, as a table and as a diagram (notebook 05)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import keras

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def mobilenet_v2_blocks(base: keras.Model) -> pd.DataFrame:
    """MobileNetV2's stages as a table, read from a built base (notebook 05).

    One row per stage: the first 3x3 convolution, the 17 inverted-residual blocks
    (``expanded_conv`` and ``block_1`` ... ``block_16``), the last 1x1 convolution. Columns:
    ``stage``, ``stride`` (of its 3x3 layer), ``expanded`` (channels inside the block, after the
    1x1 expansion), ``out_size`` (height of its output), ``out_channels``, ``residual`` (whether
    the block adds its input to its output) and ``params``.
    """
    import pandas as pd

    by_name = {layer.name: layer for layer in base.layers}

    def params(prefix):
        return int(sum(layer.count_params() for layer in base.layers
                       if layer.name == prefix or layer.name.startswith(prefix + "_")))

    rows = []
    input_shape = base.input.shape
    rows.append({"stage": "input", "stride": 1, "expanded": 0, "out_size": int(input_shape[1]),
                 "out_channels": int(input_shape[3]), "residual": False, "params": 0})
    conv1 = by_name["Conv1"]
    rows.append({"stage": "Conv1 3x3", "stride": int(conv1.strides[0]), "expanded": 0,
                 "out_size": int(conv1.output.shape[1]), "out_channels": int(conv1.output.shape[3]),
                 "residual": False, "params": params("Conv1") + params("bn_Conv1")})
    blocks = ["expanded_conv"] + [f"block_{i}" for i in range(1, 40) if f"block_{i}_depthwise" in by_name]
    for block in blocks:
        depthwise = by_name[f"{block}_depthwise"]
        project = by_name[f"{block}_project_BN"]
        rows.append({"stage": block, "stride": int(depthwise.strides[0]),
                     "expanded": int(depthwise.output.shape[3]), "out_size": int(project.output.shape[1]),
                     "out_channels": int(project.output.shape[3]), "residual": f"{block}_add" in by_name,
                     "params": params(block)})
    last = by_name["Conv_1"]
    rows.append({"stage": "Conv_1 1x1", "stride": 1, "expanded": 0, "out_size": int(last.output.shape[1]),
                 "out_channels": int(last.output.shape[3]), "residual": False,
                 "params": params("Conv_1")})
    table = pd.DataFrame(rows)
    if table["params"].sum() != base.count_params():
        raise AssertionError("the stages do not add up to the base's parameters")
    return table


def plot_mobilenet_v2(table: pd.DataFrame,
                      head: Sequence[str] = ("global average pooling", "dropout", "Dense(1), sigmoid: P(dog)")) -> Figure:
    """MobileNetV2 as drawn from :func:`mobilenet_v2_blocks`, plus this course's head (notebook 05).

    One bar per stage: its height is the number of output channels (log scale), its colour the
    size of its output grid; stride-2 stages (which halve the grid) are outlined in black and
    residual blocks marked with a "+". The head (grey) follows.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    sizes = sorted(table["out_size"].unique(), reverse=True)
    colours = dict(zip(sizes, plt.cm.viridis(np.linspace(0.05, 0.9, len(sizes)))))
    fig, ax = plt.subplots(figsize=(11, 4.6), dpi=100)
    labels = []
    for i, row in enumerate(table.itertuples()):
        ax.bar(i, row.out_channels, color=colours[row.out_size], edgecolor="black" if row.stride == 2 else "none",
               linewidth=1.6)
        top = row.out_channels * 1.08
        ax.text(i, top, f"{row.out_channels}" + (" +" if row.residual else ""), ha="center", fontsize=7)
        if row.expanded:
            ax.plot(i, row.expanded, marker="_", markersize=10, color="tab:red")
        labels.append(row.stage)  # the same names as the table mobilenet_v2_blocks returns
    channels = int(table["out_channels"].iloc[-1])
    head_heights = [channels, channels, 1]
    for k, (name, height) in enumerate(zip(head, head_heights)):
        i = len(table) + k
        ax.bar(i, max(height, 1), color="lightgrey", edgecolor="grey")
        ax.text(i, max(height, 1) * 1.08, str(height), ha="center", fontsize=7)
        labels.append(name.split(",")[0].replace("global average pooling", "pool").replace("Dense(1)", "dense"))
    ax.set_yscale("log")
    ax.set_ylim(0.8, table[["out_channels", "expanded"]].to_numpy().max() * 2.5)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, fontsize=8)
    ax.set_ylabel("channels (log scale)")
    ax.set_title(f"MobileNetV2 at {int(table['out_size'].iloc[0])}x{int(table['out_size'].iloc[0])}, "
                 f"then this course's head (grey)", fontsize=11)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=colours[s], label=f"{s}x{s} grid") for s in sizes]
    handles += [Patch(facecolor="white", edgecolor="black", linewidth=1.6, label="stride 2: halves the grid"),
                Line2D([], [], color="tab:red", marker="_", linestyle="none", markersize=10,
                       label="channels inside the block (expanded)"),
                Patch(color="lightgrey", label="head: trained here")]
    ax.legend(handles=handles, fontsize=7, ncol=2, loc="upper left")
    ax.text(0.99, 0.97, "+ : residual block (input added to output)", transform=ax.transAxes, ha="right",
            va="top", fontsize=8)
    fig.tight_layout()
    return fig
