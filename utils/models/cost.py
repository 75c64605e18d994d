"""Where training time goes on a CPU (appendix notebook 09; also ``bench/layer_cost.py`` and ``bench/training.py``).

* :func:`cpu_description`: the processor, its cores and the vector instructions TensorFlow can use.
* :func:`matmul_gflops`: a large float32 matrix product's speed, NumPy's (OpenBLAS) or TensorFlow's:
  the practical peak of these cores.
* :func:`layer_costs`: every layer of a registered variant timed on its own, forward and backward,
  with its FLOPs, so FLOPs per second can be compared layer by layer.
"""
from __future__ import annotations

import os
import platform
import time
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import keras
    import pandas as pd


class CpuInfo(NamedTuple):
    model: str  # the processor's model name
    flags: set[str]  # its feature flags (avx2, avx512f, avx512_bf16, amx_tile...)
    mhz: float | None  # the first core's clock as the kernel reports it, None if unknown


def cpu_info() -> CpuInfo:
    """The processor's model name, feature flags and clock: Linux's /proc/cpuinfo, read here only (empty elsewhere)."""
    model, flags, mhz = platform.processor() or platform.machine(), set(), None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
                if line.startswith("cpu MHz") and mhz is None:
                    mhz = float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return CpuInfo(model, flags, mhz)


def cpu_description() -> str:
    """Processor model, logical CPUs, and which of AVX2 / AVX-512 / AVX-512 BF16 / AMX it has (notebook 09)."""
    model, flags, _ = cpu_info()
    found = [name for name, flag in [("AVX2", "avx2"), ("AVX-512", "avx512f"), ("AVX-512 BF16", "avx512_bf16"),
                                     ("AMX", "amx_tile")] if flag in flags]
    return f"{model}, {os.cpu_count()} logical CPUs, {', '.join(found) or 'no AVX2'}"


def bf16_supported() -> bool:
    """True when the CPU computes in bfloat16 in hardware (AVX512-BF16 or AMX-BF16), where
    ``keras.mixed_precision.set_global_policy("mixed_bfloat16")`` can pay off (bench/training.py)."""
    flags = cpu_info().flags
    return "avx512_bf16" in flags or "amx_bf16" in flags


def matmul_gflops(library: str = "numpy", seconds: float = 5.0, size: int = 2048, dtype: str = "float32") -> float:
    """GFLOP/s of a ``size`` x ``size`` matrix product on all cores, in ``"numpy"`` or ``"tensorflow"``
    (notebook 09).

    NumPy's (OpenBLAS) is the practical float32 peak of this CPU; TensorFlow's shows what its own
    kernels reach. ``dtype="bfloat16"`` (TensorFlow only; NumPy has no bfloat16) is the peak a model
    computing in mixed bfloat16 could reach.
    """
    import tensorflow as tf

    if dtype != "float32" and library == "numpy":
        raise ValueError(f"NumPy has no {dtype} matrix product: use library='tensorflow'.")
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    if library == "numpy":
        def product():
            return a @ a
    else:
        tensor = tf.cast(tf.constant(a), dtype)
        compiled = tf.function(lambda: tf.reduce_sum(tf.cast(tf.linalg.matmul(tensor, tensor), tf.float32)))

        def product():
            return compiled().numpy()
    product()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        product()
        runs += 1
    return runs * 2 * size**3 / (time.perf_counter() - start) / 1e9


def time_layer(layer: keras.layers.Layer, input_shape: tuple[int, ...], batch: int, repeats: int, input_gradient: bool = True) -> float:
    """Median milliseconds of a forward pass plus the input and weight gradients of a copy of ``layer`` (notebook 09).

    ``input_gradient=False`` skips the gradient with respect to the input, which training does
    not compute for the layers before the first trainable weight.
    """
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


def layer_costs(name: str, batch: int = 64, repeats: int = 20, overrides: dict | None = None) -> pd.DataFrame:
    """One row per timed layer of variant ``name`` (a DataFrame): layer, output, resolution, MFLOPs/image, ms/batch, GFLOP/s
    (notebook 09).

    Each layer is a fresh copy timed alone on a batch of the shape it sees in the model; the
    random augmentation and dropout layers are left out (they cost little and are not in
    ``count_flops``). GFLOP/s counts a training step as three forward passes.
    """
    import pandas as pd
    from keras import layers

    from utils.models.registry import build_model
    from utils.models.size import layer_flops, leaf_layers

    model = build_model(name, compile=False, **(overrides or {}))
    rows, weights_before = [], False
    for layer in leaf_layers(model):
        if isinstance(layer, (layers.InputLayer, layers.Dropout)):
            continue
        if type(layer).__module__.startswith("keras.src.layers.preprocessing") and \
                not isinstance(layer, layers.Rescaling):
            continue
        ms = time_layer(layer, tuple(layer.input.shape[1:]), batch, repeats, input_gradient=weights_before)
        flops = layer_flops(layer) / 1e6
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output": "x".join(str(d) for d in layer.output.shape[1:]),
            "resolution": layer.input.shape[1] if len(layer.input.shape) == 4 else 1,
            "MFLOPs": flops,
            "ms": ms,
            "GFLOP/s": 3 * flops * batch / ms if flops else float("nan"),
        })
        weights_before = weights_before or bool(layer.trainable_weights)
    table = pd.DataFrame(rows)
    table["share of time"] = table["ms"] / table["ms"].sum()
    return table


def by_resolution(costs: pd.DataFrame, batch: int | None = None) -> pd.DataFrame:
    """:func:`layer_costs` summed per input resolution: share of the FLOPs against share of the time (notebook 09).

    With the ``batch`` the costs were timed at, also each resolution's training GFLOP/s
    (3 x forward MFLOPs per image x batch / ms).
    """
    import pandas as pd

    groups = costs.groupby("resolution", sort=False)
    table = pd.DataFrame({"share of FLOPs": groups["MFLOPs"].sum() / costs["MFLOPs"].sum(),
                          "share of time": groups["ms"].sum() / costs["ms"].sum(),
                          "ms": groups["ms"].sum()})
    if batch is not None:
        table["GFLOP/s"] = 3 * groups["MFLOPs"].sum() * batch / groups["ms"].sum()
    table.index = [f"{r}x{r}" if r > 1 else "head" for r in table.index]
    return table
