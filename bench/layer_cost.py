"""Where a variant's training time goes, layer by layer (notebook 04, "Spend the FLOPs where the CPU is fast").

    python bench/layer_cost.py [--variant batchnorm_gap] [--variant deeper] [--batch 64] [--repeats 20]
                               [--set convs_per_block=2]

For each layer of each variant, a fresh copy of the layer (same configuration) is timed on a
batch of the shape it sees in the model: one forward pass and the gradients with respect to
its input and its weights, as in a training step. Printed per layer: the output shape, the
forward MFLOPs per image (``utils.models.layer_flops``; 0 for layers ``count_flops`` ignores), the
milliseconds per batch, the GFLOP/s reached (3 x forward FLOPs per batch / time) and the share
of the variant's total; then the totals per spatial resolution. Timings are medians of
``--repeats`` runs, so each figure is one measured number on this machine, not a model of it.

``--set NAME=VALUE`` changes a field or builder option of every variant timed (as
``utils.models.build_model``'s overrides do), e.g. ``--set convs_per_block=2`` for ``deeper``
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
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def time_layer(layer, input_shape, batch: int, repeats: int, input_gradient: bool = True) -> float:
    """Median milliseconds of a forward pass plus the input and weight gradients of a copy of ``layer``.

    ``input_gradient=False`` skips the gradient with respect to the input, which training does
    not compute for the layers before the first trainable weight.
    """
    import numpy as np
    import tensorflow as tf

    copy = layer.__class__.from_config(layer.get_config())
    x = tf.random.uniform((batch, *input_shape), maxval=255.0)
    copy.build((batch, *input_shape))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(copy(x, training=True))
        sources = [x, *copy.trainable_weights] if input_gradient else list(copy.trainable_weights)
        return tape.gradient(loss, sources) if sources else loss

    step(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def layer_costs(name: str, batch: int, repeats: int, overrides: dict | None = None):
    """One row per timed layer of variant ``name``: layer, output shape, MFLOPs/image, ms/batch."""
    from keras import layers

    from utils.models import _leaf_layers, build_model, layer_flops

    model = build_model(name, compile=False, **(overrides or {}))
    rows, weights_before = [], False
    for layer in _leaf_layers(model):
        if isinstance(layer, (layers.InputLayer, layers.Dropout)):
            continue
        if type(layer).__module__.startswith("keras.src.layers.preprocessing") and \
                not isinstance(layer, layers.Rescaling):
            continue  # the random augmentation layers: only in bench/training.py's whole training steps
        rows.append({
            "layer": type(layer).__name__,
            "output": "x".join(str(d) for d in layer.output.shape[1:]),
            "resolution": layer.input.shape[1] if len(layer.input.shape) == 4 else 1,
            "MFLOPs": layer_flops(layer) / 1e6,
            "ms": time_layer(layer, tuple(layer.input.shape[1:]), batch, repeats, input_gradient=weights_before),
        })
        weights_before = weights_before or bool(layer.trainable_weights)
    return rows


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
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for name in args.variant or ["batchnorm_gap", "deeper"]:
        rows = layer_costs(name, args.batch, args.repeats, overrides)
        total, total_flops = sum(row["ms"] for row in rows), sum(row["MFLOPs"] for row in rows)
        changed = "".join(f", {key}={value!r}" for key, value in overrides.items())
        print(f"\n{name}{changed}: forward + backward of each layer on a batch of {args.batch}, median of {args.repeats}")
        print(f"  {'layer':22s} {'output':>12s} {'MFLOPs':>7s} {'ms':>7s} {'GFLOP/s':>8s} {'share':>6s}")
        for row in rows:
            speed = f"{3 * row['MFLOPs'] * args.batch / row['ms']:8.0f}" if row["MFLOPs"] else " " * 8
            print(f"  {row['layer']:22s} {row['output']:>12s} {row['MFLOPs']:7.1f} {row['ms']:7.1f} {speed} "
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
