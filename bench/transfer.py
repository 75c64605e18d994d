"""Transfer learning on the shared sample: accuracy, log loss and CPU time (notebook 05).

Usage: python bench/transfer.py [--profile default] [--base MobileNetV2] [--image-size 160]
                                [--head-epochs 20] [--fine-tune-epochs 3] [--unfreeze 30]

With the ImageNet weights in Keras' cache it measures, on the profile's validation split:

1. feature extraction: base features computed once per image, then the head trained on them;
2. fine-tuning: the top ``--unfreeze`` layers of the base trained at 1e-5 with
   BatchNormalization frozen, starting from that head.

For each it prints validation accuracy, validation log loss (Kaggle's metric), wall time and
CPU time (user + system of this process, all threads). Nothing is logged to logs/ or models/,
nothing is asserted. Without the weights file (no internet here) it says so, and which file
to place where, instead of printing a figure.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CATSDOGS_HEADLESS", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "data" / "dogs-vs-cats-sample"
if "CATSDOGS_DATA" not in os.environ and SAMPLE.is_dir():
    os.environ["CATSDOGS_DATA"] = str(SAMPLE)


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--base", default="MobileNetV2")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--head-epochs", type=int, default=20)
    parser.add_argument("--fine-tune-epochs", type=int, default=3)
    parser.add_argument("--unfreeze", type=int, default=30)
    args = parser.parse_args(argv)

    from utils.models import transfer

    check = transfer.imagenet_weights_available(args.base, args.image_size)
    if not check:
        print("No figures: the ImageNet weights are not available on this machine.")
        print(check.message)
        return 0

    import keras

    from utils.data.dataset import load_manifest
    from utils.evaluate import accuracy, log_loss
    from utils.data.pipeline import labels_of, make_dataset
    from utils.config import get_profile

    profile = get_profile(args.profile)
    frame = load_manifest(profile)
    keras.utils.set_random_seed(profile.seed)
    size = (args.image_size, args.image_size)
    y_val = labels_of(frame, "validation")
    print(f"{args.base} at {size[0]}x{size[1]}, profile {profile.name}: "
          f"{(frame['split'] == 'train').sum()} training / {len(y_val)} validation images; "
          f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}")

    parts = transfer.build_transfer_model(args.base, size, weights="imagenet")
    rows = []
    with Clock() as features_clock:
        # Recomputed, not read from data/features/, so the time is real.
        x_train, y_train = transfer.compute_features(
            parts.features, make_dataset(frame, "train", image_size=size, shuffle=False), description="train features")
        x_val, _ = transfer.compute_features(
            parts.features, make_dataset(frame, "validation", image_size=size, shuffle=False),
            description="validation features")
    with Clock() as head_clock:
        parts.head.fit(
            transfer.feature_dataset(x_train, y_train, shuffle=True, seed=profile.seed),
            validation_data=transfer.feature_dataset(x_val, y_val), epochs=args.head_epochs, verbose=0, shuffle=False,
            callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)])
    p_val = parts.head.predict(x_val, verbose=0)[:, 0]
    rows.append(("feature extraction", accuracy(y_val, p_val), log_loss(y_val, p_val),
                 features_clock.wall + head_clock.wall, features_clock.cpu + head_clock.cpu))
    print(f"  (features: {features_clock.wall:.0f} s wall, {features_clock.cpu:.0f} s CPU; "
          f"head: {head_clock.wall:.0f} s wall, {head_clock.cpu:.0f} s CPU)")

    transfer.unfreeze_top(parts, n_layers=args.unfreeze, learning_rate=1e-5)
    data = dict(image_size=size, batch_size=32, cache="memory", seed=profile.seed)
    with Clock() as tune_clock:
        parts.model.fit(
            make_dataset(frame, "train", **data), validation_data=make_dataset(frame, "validation", **data),
            epochs=args.fine_tune_epochs, verbose=0, shuffle=False,
            callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)])
    p_val = parts.model.predict(make_dataset(frame, "validation", **data), verbose=0)[:, 0]
    rows.append((f"+ fine-tuning (top {args.unfreeze} layers)", accuracy(y_val, p_val), log_loss(y_val, p_val),
                 tune_clock.wall, tune_clock.cpu))

    print(f"\n{'stage':34s} {'val accuracy':>12s} {'val log loss':>12s} {'wall s':>8s} {'CPU s':>8s}")
    for stage, acc, loss, wall, cpu in rows:
        print(f"{stage:34s} {acc:12.4f} {loss:12.4f} {wall:8.0f} {cpu:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
