"""Benchmark: the seed's OpenCV loader against the tf.data pipeline (README table, notebook 01).

Prints images/s and memory growth of each loader, each run in a fresh process, on the
200x200 Kaggle-layout sample and on the full-resolution cats_and_dogs_filtered set, at the
seed's setting (50x50 grayscale) and a colour one (128x128 RGB).

Usage: python bench/loaders.py [--shared ../shared/data] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

from utils.data.dataset import prepare_dataset  # noqa: E402
from utils.data.loaders import measure_loader  # noqa: E402
from utils.data.sources import DataSource  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def image_paths(archive: Path, work: Path) -> list[str]:
    source = DataSource("CATSDOGS_DATA", archive.parent, [archive])
    report = prepare_dataset("default", data_dir=work / archive.stem, source=source, say=lambda *_: None)
    return report.frame.loc[report.frame["split"] != "test", "filepath"].tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is printed")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args()

    sets = {
        "Kaggle sample, 200x200": args.shared / "dogs-vs-cats-sample" / "train.zip",
        "cats_and_dogs_filtered, full size": args.shared / "cats-and-dogs-filtered" / "cats_and_dogs_filtered.zip",
    }
    print(f"Machine: {describe()}")
    print(f"Median of {args.repeats} runs, each in a fresh process; memory = growth of resident memory while loading.\n")
    print(f"| data | images | setting | loader | images/s | memory growth (MB) |")
    print(f"|---|---:|---|---|---:|---:|")
    for name, archive in sets.items():
        paths = image_paths(archive, args.work)
        for size, grayscale in ((50, True), (128, False)):
            setting = f"{size}x{size} {'gray' if grayscale else 'RGB'}"
            for loader in ("seed", "tfdata"):
                runs = [measure_loader(loader, paths, size, grayscale) for _ in range(args.repeats)]
                speed = statistics.median(r["images_per_s"] for r in runs)
                growth = statistics.median(r["growth_mb"] for r in runs)
                label = "seed (OpenCV loop -> NumPy)" if loader == "seed" else "tf.data (utils.data.pipeline)"
                print(f"| {name} | {len(paths):,} | {setting} | {label} | {speed:,.0f} | {growth:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
