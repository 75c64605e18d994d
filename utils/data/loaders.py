"""The seed notebook's image loader, kept to compare with ``tf.data`` (introduced in notebook 01).

The notebook this course grew from read every image with OpenCV, one after another, into a
single NumPy array. It is simple and fine for a few thousand small images, but its memory grows
with the data set and it uses one core. ``measure_loader`` runs a loader in a fresh Python
process and reports images per second and peak memory, so the two can be compared fairly.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from utils import config


def seed_loader(paths: list[str], size: int = 50, grayscale: bool = True) -> np.ndarray:
    """Read every image with OpenCV into one float32 array (the seed's approach, serial)."""
    import cv2

    flag = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    images = []
    for path in paths:
        image = cv2.resize(cv2.imread(path, flag), (size, size))
        images.append(image)
    array = np.array(images, dtype=np.float32)
    return array.reshape(len(paths), size, size, 1 if grayscale else 3)


def _peak_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM: reset at exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _current_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _run(loader: str, paths: list[str], size: int, grayscale: bool, repeat: int) -> dict:
    """Load the images; report images/s and memory (before, peak) in MB."""
    if loader == "tfdata":
        import pandas as pd
        import tensorflow as tf

        from utils.data.pipeline import make_dataset

        frame = pd.DataFrame({"filepath": paths, "label": 0, "split": "train"})
        dataset = make_dataset(frame, None, (size, size), "grayscale" if grayscale else "rgb",
                               batch_size=64, shuffle=False)
        next(iter(dataset.take(1)))  # build the graph before timing
        before = _current_mb()
        start = time.perf_counter()
        count = 0
        for _ in range(repeat):
            for images, _labels in dataset:
                count += int(images.shape[0])
        seconds = time.perf_counter() - start
        del tf
    else:
        import cv2

        cv2.imread(paths[0])
        before = _current_mb()
        start = time.perf_counter()
        count = 0
        kept = []
        for _ in range(repeat):
            kept.append(seed_loader(paths, size, grayscale))
            count += len(paths)
        seconds = time.perf_counter() - start
    return {"loader": loader, "images": count, "seconds": seconds, "images_per_s": count / seconds,
            "memory_before_mb": before, "peak_mb": _peak_mb(), "growth_mb": _peak_mb() - before}


def measure_loader(loader: str, paths: list[str], size: int = 50, grayscale: bool = True,
                   repeat: int = 1, threads: int | None = None) -> dict:
    """Run a loader ('seed' or 'tfdata') on ``paths`` in a fresh process; return its figures."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(paths))
        listing = handle.name
    env = config.child_environment(**({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    command = [sys.executable, "-m", "utils.data.loaders", loader, listing, "--size", str(size),
               "--repeat", str(repeat)] + (["--grayscale"] if grayscale else [])
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    finally:
        os.unlink(listing)
    if result.returncode != 0:
        raise RuntimeError(f"The {loader} loader failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Time one image loader (used by measure_loader).")
    parser.add_argument("loader", choices=["seed", "tfdata"])
    parser.add_argument("listing", type=Path, help="a text file with one image path per line")
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--grayscale", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    paths = args.listing.read_text().split("\n")
    print(json.dumps(_run(args.loader, paths, args.size, args.grayscale, args.repeat)))


if __name__ == "__main__":
    main()
