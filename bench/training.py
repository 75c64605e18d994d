"""Training speed and accuracy figures for the README (notebooks 03 and 04).

    python bench/training.py [--variant NAME] [--images 640] [--epochs 2] [--rounds 3] [--profile default] [--settings]

Prints, for the default variant (``utils.models.registry.DEFAULT_VARIANT``) unless ``--variant`` is given:

1. training throughput (images/s) with the real input pipeline (``utils.data.pipeline.make_dataset``
   with ``cache="memory"``, as ``train_variant`` uses it) against the same model fed from
   tensors already in memory with the same ``tf.data`` options, and their ratio (1.0 = the
   pipeline is never the bottleneck); and the tensors once more with ``tf.data``'s default
   options, whose autotuning thread stalls every new epoch (see ``utils/data/pipeline.py``);
   and the real pipeline alone, read with no model behind it: how many images/s it can make,
   and so what share of that feeding training at the pipeline's rate asks of it;
2. the achieved GFLOP/s (3 x forward FLOPs per image x images/s) against an estimate of the
   CPU's fp32 peak (cores x clock x 32 FLOPs/cycle for AVX2 with two FMA units) and against
   what a large float32 matrix product measures on the same cores (NumPy and TensorFlow); for a
   variant computing in bfloat16, also against a bfloat16 matrix product in TensorFlow;
3. the best from-scratch run of the profile found in ``logs/`` (written by notebook 04 or
   ``python -m utils.train``): validation accuracy and training time.

With ``--settings``, it then times the variant's training step from in-memory tensors under
CPU speed settings, each in a fresh process, as a ratio to float32 with TensorFlow's defaults:
bfloat16 mixed precision (``keras.mixed_precision``, only where the CPU has AVX512-BF16 or
AMX, else reported as not available), XLA (``jit_compile=True``), both, and one intra-op
thread (how much the other cores add), in float32 and in bfloat16. ``bench/ideas.py`` measures what the same settings do
to validation accuracy.

Run it on an otherwise idle machine: other processes on the same cores lower every figure.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_peak_gflops() -> tuple[float, str]:
    """Estimated fp32 peak of this CPU and how it was estimated."""
    from utils.models.cost import cpu_info

    cores = os.cpu_count() or 1
    _, flags, mhz = cpu_info()
    ghz = (mhz or 2500.0) / 1000
    per_cycle = 64 if "avx512f" in flags else 32 if "fma" in flags else 16
    return cores * ghz * per_cycle, f"{cores} cores x {ghz:.2f} GHz x {per_cycle} FLOPs/cycle"


def images_per_second(model, dataset, images: int, epochs: int) -> float:
    """Training images per second over ``epochs`` full passes, after one untimed warm-up pass.

    The warm-up traces the model and, for the real pipeline, fills the memory cache (a cache
    is only kept once a pass reaches the end of the data, which is why whole passes are timed).
    """
    model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0, shuffle=False)
    return epochs * images / (time.perf_counter() - start)


def pipeline_alone(dataset, images: int, passes: int = 10) -> float:
    """Images per second ``dataset`` yields with nothing consuming them (no model), over ``passes``
    full passes after one untimed pass that fills its cache: the most it could ever feed."""
    for _ in dataset:
        pass
    start = time.perf_counter()
    for _ in range(passes):
        for _ in dataset:
            pass
    return passes * images / (time.perf_counter() - start)


def training_tensors(variant_name: str, images: int, profile: str):
    """The variant, the first ``images`` training rows of the profile's manifest, and those images
    decoded into one array with their labels: what the in-memory feeds train on."""
    import numpy as np

    from utils.data.dataset import load_manifest
    from utils.data.pipeline import make_dataset
    from utils.models.registry import get_variant

    variant = get_variant(variant_name)
    frame = load_manifest(profile)
    train = frame[frame["split"] == "train"].head(images)
    x = np.concatenate([b.numpy() for b, _ in make_dataset(train, image_size=variant.image_size,
                                                           color_mode=variant.color_mode, batch_size=256)])
    return variant, frame, train, x, train["label"].to_numpy("int32")


SETTINGS = {  # name: (keras.mixed_precision policy, jit_compile, intra-op threads or None for the default)
    "float32, TensorFlow's defaults": ("float32", False, None),
    "bfloat16 mixed precision": ("mixed_bfloat16", False, None),
    "XLA (jit_compile=True)": ("float32", True, None),
    "bfloat16 and XLA": ("mixed_bfloat16", True, None),
    "one intra-op thread": ("float32", False, 1),
    "bfloat16, one intra-op thread": ("mixed_bfloat16", False, 1),
}


def setting_child(name: str, variant_name: str, images: int, epochs: int, profile: str) -> None:
    """Print the images/s of one :data:`SETTINGS` entry (run in a fresh process: threads are fixed at start-up)."""
    import keras
    import tensorflow as tf

    policy, jit, threads = SETTINGS[name]
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    keras.mixed_precision.set_global_policy(policy)
    from utils.models.registry import build_model

    variant, _, _, x, labels = training_tensors(variant_name, images, profile)
    feed = tf.data.Dataset.from_tensor_slices((x, labels)).batch(variant.batch_size).prefetch(2)
    keras.utils.set_random_seed(0)
    model = build_model(variant_name, compile=False, mixed_precision=False)  # the setting's policy, not the variant's
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
    print(f"RATE {images_per_second(model, feed, len(x), epochs):.3f}")


def compare_settings(variant_name: str, images: int, epochs: int, rounds: int, profile: str) -> None:
    """Print images/s under each of :data:`SETTINGS`, each a fresh process, interleaved rounds, median of each."""
    import subprocess
    import sys

    import numpy as np

    from utils.models.cost import bf16_supported

    names = [n for n in SETTINGS if SETTINGS[n][0] == "float32" or bf16_supported()]
    rates = {n: [] for n in names}
    for _ in range(rounds):
        for name in names:
            out = subprocess.run([sys.executable, __file__, "--setting", name, "--variant", variant_name, "--images",
                                  str(images), "--epochs", str(epochs), "--profile", profile],
                                 capture_output=True, text=True)
            rate = next((float(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("RATE ")), None)
            if rate is None:
                raise SystemExit(f"error: the {name!r} run failed:\n{out.stderr[-2000:]}")
            rates[name].append(rate)
    reference = float(np.median(rates[names[0]]))
    print(f"\nCPU speed settings, {variant_name}, in-memory tensors, median of {rounds} interleaved rounds "
          f"(each a fresh process):")
    for name in SETTINGS:
        if name not in rates:
            print(f"  {name + ':':32s} not available: this CPU has no AVX512-BF16 or AMX")
            continue
        value = float(np.median(rates[name]))
        print(f"  {name + ':':32s} {value:8.1f} images/s  {value / reference:5.2f}x")


def main() -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    from utils.models.registry import DEFAULT_VARIANT, build_model, compute_policy, count_flops
    from utils.data.pipeline import make_dataset
    from utils.runs import list_runs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default=DEFAULT_VARIANT)
    parser.add_argument("--images", type=int, default=640, help="training images used for the throughput runs")
    parser.add_argument("--epochs", type=int, default=2, help="timed passes over those images per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved measurements of each feed (median shown)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--settings", action="store_true",
                        help="also time bfloat16, XLA and one thread against float32 (fresh processes)")
    parser.add_argument("--setting", choices=list(SETTINGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setting:
        setting_child(args.setting, args.variant, args.images, args.epochs, args.profile)
        return

    from utils.models.cost import cpu_description

    print(f"Machine: {cpu_description()}; "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    variant, frame, train, images, labels = training_tensors(args.variant, args.images, args.profile)
    batch = variant.batch_size
    n = len(train)

    keras.utils.set_random_seed(0)
    real = make_dataset(train, "train", image_size=variant.image_size, color_mode=variant.color_mode,
                        batch_size=batch, cache="memory")
    tf_defaults = (tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(n, seed=0).batch(batch)
                   .prefetch(tf.data.AUTOTUNE))
    tensors = tf_defaults.with_options(real.options())  # the same tf.data options as the pipeline

    # Interleaved rounds, median of each: the figures move with whatever else the machine does.
    feeds = {"real input pipeline (cache='memory')": real, "in-memory tensors, same options": tensors,
             "in-memory tensors, tf.data defaults": tf_defaults}
    rates = {name: [] for name in feeds}
    alone = []
    for _ in range(args.rounds):
        for name, feed in feeds.items():
            keras.utils.set_random_seed(0)
            rates[name].append(images_per_second(build_model(args.variant), feed, n, args.epochs))
        alone.append(pipeline_alone(real, n))
    rate = {name: float(np.median(values)) for name, values in rates.items()}
    alone_rate = float(np.median(alone))
    pipeline_rate, tensor_rate = rate["real input pipeline (cache='memory')"], rate["in-memory tensors, same options"]
    model = build_model(args.variant)
    flops = count_flops(model)
    print(f"\nVariant {args.variant}: input {variant.input_shape}, batch {batch}, "
          f"{model.count_params():,} parameters, {flops / 1e6:.1f} MFLOPs per image (forward), "
          f"computing in {compute_policy(variant)}; "
          f"median of {args.rounds} rounds of {args.epochs} timed passes over {n} images")
    for name, value in rate.items():
        print(f"  {name + ':':40s} {value:8.1f} images/s")
    print(f"  {'ratio pipeline / tensors (same options):':40s} {pipeline_rate / tensor_rate:8.2f}")
    print(f"  {'ratio tf.data defaults / same options:':40s} {rate['in-memory tensors, tf.data defaults'] / tensor_rate:8.2f}"
          "  (the autotune thread's teardown wait, see utils/data/pipeline.py)")
    print(f"  {'real input pipeline alone, no model:':40s} {alone_rate:8.1f} images/s: feeding training at "
          f"{pipeline_rate:.1f} images/s asks about {100 * pipeline_rate / alone_rate:.1f}% of what it can deliver")
    peak, how = cpu_peak_gflops()
    achieved = 3 * flops * max(pipeline_rate, tensor_rate) / 1e9
    from utils.models.cost import matmul_gflops

    numpy_peak, tf_matmul = matmul_gflops("numpy"), matmul_gflops("tensorflow")
    print(f"  achieved: {achieved:.1f} GFLOP/s (3 x forward FLOPs x images/s); "
          f"estimated peak {peak:.0f} GFLOP/s ({how}): {100 * achieved / peak:.0f}% of peak")
    print(f"  measured: a 2048x2048 float32 matmul reaches {numpy_peak:.0f} GFLOP/s in NumPy (OpenBLAS) and "
          f"{tf_matmul:.0f} in TensorFlow; training reaches {100 * achieved / numpy_peak:.0f}% of the former")
    if compute_policy(variant) == "mixed_bfloat16":
        bf16_matmul = matmul_gflops("tensorflow", dtype="bfloat16")
        print(f"  measured: a 2048x2048 bfloat16 matmul reaches {bf16_matmul:.0f} GFLOP/s in TensorFlow; training "
              f"(computing in bfloat16) reaches {100 * achieved / bf16_matmul:.0f}% of that")
    print(f"  one epoch of {int((frame['split'] == 'train').sum()):,} training images: "
          f"about {(frame['split'] == 'train').sum() / pipeline_rate:.0f} s at this rate")

    if args.settings:
        compare_settings(args.variant, n, args.epochs, args.rounds, args.profile)

    runs = list_runs()
    runs = runs[(runs["profile"] == args.profile) & (runs["variant"] != "baseline")] if len(runs) else runs
    print(f"\nBest from-scratch run of the {args.profile!r} profile in logs/:")
    if len(runs) == 0:
        print("  none yet: run notebook 04 (or python -m utils.train --profile default) first.")
        return
    best = runs.sort_values("best_val_accuracy", ascending=False).iloc[0]
    print(f"  {best['run']}: validation accuracy {best['best_val_accuracy']:.3f}, log loss {best['best_val_loss']:.3f}, "
          f"{best['epochs_run']} epochs in {best['train_seconds'] / 60:.1f} min of training")
    baseline = list_runs()
    baseline = baseline[(baseline["profile"] == args.profile) & (baseline["variant"] == "baseline")]
    if len(baseline):
        row = baseline.iloc[-1]
        print(f"  baseline {row['run']}: validation accuracy {row['best_val_accuracy']:.3f}, "
              f"{row['train_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
