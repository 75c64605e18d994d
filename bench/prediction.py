"""How fast does prediction run on this CPU? Images per second, batched versus one at a time (notebook 08).

Usage: python bench/prediction.py [--images 512] [--single 48] [--batch-size 64] [--repeats 5]

Times the default variant (``utils.models.registry.DEFAULT_VARIANT``) and the seed notebook's
``baseline`` on real Kaggle test images from ../shared/data/dogs-vs-cats-sample/test.zip
(or CATSDOGS_DATA). Untrained weights: the speed does not depend on what the model learned.
It measures:

* batched: :func:`utils.predict.predict_files` (tf.data decoding in parallel, batches of
  ``--batch-size``), without and with test-time augmentation (image + mirror image);
* one at a time: read, decode, resize and predict a single image per call, as a naive loop
  (or a web service answering one request) would.

Each timing follows one warm-up run; the fastest of ``--repeats`` runs is kept (the CPU is shared). Prints a table; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CATSDOGS_HEADLESS", "1")

ROOT = Path(__file__).resolve().parent.parent


def test_zip() -> Path:
    candidates = [Path(os.environ["CATSDOGS_DATA"])] if os.environ.get("CATSDOGS_DATA") else []
    candidates.append(ROOT.parent / "shared" / "data" / "dogs-vs-cats-sample")
    for folder in candidates:
        if (folder / "test.zip").is_file():
            return folder / "test.zip"
    sys.exit("No test.zip found: set CATSDOGS_DATA to the folder holding Kaggle's test.zip.")


def extract(archive: Path, count: int, folder: Path) -> list[Path]:
    with zipfile.ZipFile(archive) as zf:
        names = sorted((n for n in zf.namelist() if n.lower().endswith(".jpg")),
                       key=lambda n: int(Path(n).stem))[:count]
        files = []
        for name in names:
            target = folder / Path(name).name
            target.write_bytes(zf.read(name))
            files.append(target)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512, help="images predicted in batches")
    parser.add_argument("--single", type=int, default=48, help="images predicted one at a time")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="timings per case; the fastest is kept")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from utils.models.registry import DEFAULT_VARIANT, build_model
    from utils.data.pipeline import decode_and_resize
    from utils.predict import dog_column, model_input, predict_files

    keras.utils.set_random_seed(42)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU core(s) visible")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = extract(test_zip(), max(args.images, args.single), Path(tmp))
        print(f"{len(files)} real test images (Kaggle sample, 200x200 JPEG)\n")
        for name in ("baseline", DEFAULT_VARIANT):
            model = build_model(name, compile=False)
            size, mode = model_input(model)
            batch = files[: args.images]
            for tta in (False, True):
                predict_files(model, batch[: args.batch_size], batch_size=args.batch_size, tta=tta,
                              show_progress=False)  # warm-up
                seconds = float("inf")
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    result = predict_files(model, batch, batch_size=args.batch_size, tta=tta, show_progress=False)
                    seconds = min(seconds, time.perf_counter() - start)
                rows.append((name, f"{size[0]}x{size[1]} {mode}", f"batched ({args.batch_size})" + (" + TTA" if tta else ""),
                             len(result.files), len(result.files) / seconds))
            single = files[: args.single]

            def one(path):
                image = decode_and_resize(str(path), size, mode)[None]
                return dog_column(model.predict_on_batch(image))

            one(single[0])  # warm-up
            seconds = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                for path in single:
                    one(path)
                seconds = min(seconds, time.perf_counter() - start)
            rows.append((name, f"{size[0]}x{size[1]} {mode}", "one at a time", len(single), len(single) / seconds))

    print(f"{'model':15s} {'input':16s} {'how':22s} {'images':>6s} {'images/s':>9s}")
    for name, shape, how, n, rate in rows:
        print(f"{name:15s} {shape:16s} {how:22s} {n:6d} {rate:9.1f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
