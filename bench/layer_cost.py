"""Where a variant's training time goes, layer by layer (appendix notebook 09, "Time every layer").

    python bench/layer_cost.py [--variant batchnorm_gap] [--variant deeper] [--batch 64] [--repeats 20]
                               [--set convs_per_block=2]

For each layer of each variant, a fresh copy of the layer (same configuration) is timed on a
batch of the shape it sees in the model: one forward pass and the gradients with respect to
its input and its weights, as in a training step. Printed per layer: the output shape, the
forward MFLOPs per image (``utils.models.registry.layer_flops``; 0 for layers ``count_flops`` ignores), the
milliseconds per batch, the GFLOP/s reached (3 x forward FLOPs per batch / time) and the share
of the variant's total; then the totals per spatial resolution. Timings are medians of
``--repeats`` runs, so each figure is one measured number on this machine, not a model of it.

``--set NAME=VALUE`` changes a field or builder option of every variant timed (as
``utils.models.registry.build_model``'s overrides do), e.g. ``--set convs_per_block=2`` for ``deeper``
with two convolutions in every block, its first and last included.

The point it makes: FLOPs are not time. On a CPU, the full-resolution layers (few channels,
many pixels) run far below the speed of the narrow-image, many-channel ones, and
BatchNormalization and ReLU, which ``count_flops`` ignores, cost as much as a convolution there;
the last, 4x4 layers are slow per FLOP too (little work per weight).

Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import ast
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    import keras
    import tensorflow as tf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", help="a registered variant (repeatable); "
                        "default: batchnorm_gap and deeper")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a variant field or builder option (a Python literal), repeatable")
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key.strip()] = ast.literal_eval(value.strip())
    from utils.models.cost import cpu_description

    tf.get_logger().setLevel("ERROR")  # one tf.function per timed layer: retracing is expected
    print(f"Machine: {cpu_description()}; "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    from utils.models.cost import layer_costs

    for name in args.variant or ["batchnorm_gap", "deeper"]:
        rows = layer_costs(name, args.batch, args.repeats, overrides).to_dict("records")
        total, total_flops = sum(row["ms"] for row in rows), sum(row["MFLOPs"] for row in rows)
        changed = "".join(f", {key}={value!r}" for key, value in overrides.items())
        print(f"\n{name}{changed}: forward + backward of each layer on a batch of {args.batch}, median of {args.repeats}")
        print(f"  {'layer':22s} {'output':>12s} {'MFLOPs':>7s} {'ms':>7s} {'GFLOP/s':>8s} {'share':>6s}")
        for row in rows:
            speed = f"{3 * row['MFLOPs'] * args.batch / row['ms']:8.0f}" if row["MFLOPs"] else " " * 8
            print(f"  {row['type']:22s} {row['output']:>12s} {row['MFLOPs']:7.1f} {row['ms']:7.1f} {speed} "
                  f"{100 * row['ms'] / total:5.0f}%")
        print(f"  {'total':22s} {'':>12s} {total_flops:7.1f} {total:7.1f}")
        print("  by input resolution:")
        for resolution in sorted({row["resolution"] for row in rows}, reverse=True):
            group = [row for row in rows if row["resolution"] == resolution]
            ms, flops = sum(r["ms"] for r in group), sum(r["MFLOPs"] for r in group)
            print(f"    {resolution:3d}x{resolution:<3d} {100 * flops / max(1e-9, total_flops):5.0f}% "
                  f"of the FLOPs, {100 * ms / total:5.0f}% of the time")


if __name__ == "__main__":
    main()
