"""How training time and memory grow with the number of training images (the full profile's cost).

    python bench/scaling.py [--sizes 1000 2000 4000 7000] [--variant deeper] [--image-size 64]

The ``full`` profile trains on every labelled image found: 22,500 of Kaggle's 25,000 (10% are
kept for validation). That data is not always at hand, so this script measures the two things
that decide whether such a run fits a CPU, on the labelled images that are: the shared
Kaggle-layout sample (``train.zip``, 4,000 images at 200x200) and TensorFlow's
``cats_and_dogs_filtered.zip`` (3,000 images at full resolution), 7,000 files in all. They are
5,000 distinct photographs: the filtered set's ``cat.0-999`` and ``dog.0-999`` are the sample's
photographs at their original size (the same Kaggle id, the same photograph); for time and memory
that does not matter, for accuracy it would (``bench/accuracy.py --add-training`` skips them). The
evaluation set ``dogs-vs-cats-eval`` is never read.

For each size N (each in a fresh process, so its peak memory is its own) it trains the variant
as ``python -m utils.train`` does (the same ``tf.data`` pipeline, decoded images cached in RAM):

* the first epoch, which also decodes every image and fills the cache;
* a second epoch, from the cache: seconds per image, what every later epoch costs;
* the process's peak resident memory.

Then it fits time = a x N and memory = b + c x N and prints what they predict for the full
profile's 22,500 training images, labelled as extrapolated. Weights are not trained to any
accuracy here: this measures cost only.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from utils.config import PROJECT_ROOT  # noqa: E402

SHARED = PROJECT_ROOT.parent / "shared" / "data"
SOURCES = (SHARED / "dogs-vs-cats-sample" / "train.zip", SHARED / "cats-and-dogs-filtered" / "cats_and_dogs_filtered.zip")
FULL_TRAIN = 22_500  # Kaggle's 25,000 labelled images less the full profile's 10% validation


def labelled_images(folder: Path) -> list[tuple[str, int]]:
    """``(path, label)`` of every cat/dog JPEG under ``folder``, alternating sources and classes (stable order)."""
    import random

    found = []
    for path in sorted(folder.rglob("*.jpg")):
        name = path.name.lower()
        if name.startswith(("cat.", "dog.")):
            found.append((str(path), int(name.startswith("dog."))))
    random.Random(0).shuffle(found)
    return found


def child(args) -> None:
    """Train on the first ``args.child`` images listed in ``args.listing``; print one JSON line."""
    import keras
    import pandas as pd

    from utils.data.pipeline import make_dataset
    from utils.models.registry import build_model, get_variant

    rows = json.loads(Path(args.listing).read_text())[: args.child]
    frame = pd.DataFrame(rows, columns=["filepath", "label"]).assign(split="train")
    variant = get_variant(args.variant, image_size=(args.image_size, args.image_size))
    keras.utils.set_random_seed(0)
    data = make_dataset(frame, "train", image_size=variant.image_size, color_mode=variant.color_mode,
                        batch_size=variant.batch_size, cache="memory")
    model = build_model(args.variant, image_size=variant.image_size)
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    cached = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"n": len(frame), "first_epoch_s": first, "epoch_s": cached, "peak_mb": peak_mb}))


def fit_line(xs: list[float], ys: list[float], through_zero: bool = False) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)`` of ys on xs (intercept 0 when ``through_zero``)."""
    if through_zero:
        return 0.0, sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 7000])
    parser.add_argument("--variant", default="deeper")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--listing", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    from utils.models.registry import VARIANTS

    if args.variant not in VARIANTS:
        print(f"error: unknown variant {args.variant!r}. Choose from: {', '.join(VARIANTS)}.", file=sys.stderr)
        return 2
    missing = [p for p in SOURCES if not p.is_file()]
    if missing:
        print(f"error: {missing[0]} is missing: this script needs ../shared/data beside the project "
              "(see ../shared/data/README.md).", file=sys.stderr)
        return 2
    if len(args.sizes) < 2 or min(args.sizes) < 64:
        print("error: give at least two --sizes of 64 images or more.", file=sys.stderr)
        return 2
    from utils.data.archives import extract
    from utils.models.cost import cpu_description

    private = Path(tempfile.mkdtemp(prefix="catsdogs-scaling-"))
    try:
        for archive in SOURCES:
            extract(archive, private / archive.stem)
        listing = labelled_images(private)
        sizes = sorted(n for n in set(args.sizes) if n <= len(listing))
        if len(sizes) < 2:
            print(f"error: only {len(listing)} labelled images found; give --sizes up to that.", file=sys.stderr)
            return 2
        (private / "listing.json").write_text(json.dumps(listing))
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(f"{len(listing)} labelled images from {', '.join(p.name for p in SOURCES)}; "
              f"{args.variant} at {args.image_size}x{args.image_size}; one process per size.", flush=True)
        results = []
        for n in sizes:
            out = subprocess.run([sys.executable, __file__, "--child", str(n), "--listing", str(private / "listing.json"),
                                  "--variant", args.variant, "--image-size", str(args.image_size)],
                                 capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            line = next((l for l in out.stdout.splitlines() if l.startswith("{")), None)
            if out.returncode or line is None:
                print(f"error: the run on {n} images failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            results.append(json.loads(line))
            r = results[-1]
            print(f"  {n:6,d} images: first epoch {r['first_epoch_s']:.0f} s, later epochs {r['epoch_s']:.0f} s, "
                  f"peak memory {r['peak_mb']:,.0f} MB", flush=True)
    finally:
        shutil.rmtree(private, ignore_errors=True)

    ns = [r["n"] for r in results]
    _, per_image = fit_line(ns, [r["epoch_s"] for r in results], through_zero=True)
    first_base, first_per_image = fit_line(ns, [r["first_epoch_s"] for r in results])
    base_mb, mb_per_image = fit_line(ns, [r["peak_mb"] for r in results])
    print(f"\nMachine: {cpu_description()}; started {started}, finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average (1 min) {os.getloadavg()[0]:.1f} at the end.\n")
    print("| training images | first epoch (decodes) | later epochs | s per 1,000 images | peak memory |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['n']:,} | {r['first_epoch_s']:.0f} s | {r['epoch_s']:.0f} s | {1000 * r['epoch_s'] / r['n']:.1f} | "
              f"{r['peak_mb']:,.0f} MB |")
    full_epoch = per_image * FULL_TRAIN
    print(f"\nFitted: later epochs {1000 * per_image:.2f} s per 1,000 images; memory {base_mb:,.0f} MB + "
          f"{1024 * mb_per_image:.1f} KB per image (the cache holds {args.image_size}x{args.image_size}x3 bytes = "
          f"{args.image_size * args.image_size * 3 / 1024:.1f} KB of each).")
    print(f"Extrapolated to the full profile's {FULL_TRAIN:,} training images: first epoch about "
          f"{(first_base + first_per_image * FULL_TRAIN) / 60:.1f} min, each later epoch about {full_epoch / 60:.1f} min, "
          f"peak memory about {(base_mb + mb_per_image * FULL_TRAIN) / 1024:.1f} GB (training only: validating "
          f"{25_000 - FULL_TRAIN:,} images each epoch adds a forward pass over them).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
