"""Write reveal.js decks of notebooks 02 and 03 to ``build/slides/`` with ``jupyter nbconvert --to slides``.

Usage: python scripts/build_slides.py [--out build/slides] [--cdn] [NOTEBOOK ...]

The slide layout comes from each notebook's cell metadata (``scripts/slides_metadata.py``).

nbconvert's decks load reveal.js, require.js, jQuery and MathJax from CDNs by default. So that a
deck also works in a classroom without internet, this script puts pinned copies of those
libraries beside the decks, in ``build/slides/vendor/``, taken from the npm registry with
``npm pack`` (the versions nbconvert 7's template is written for: reveal.js 4.0.2, require.js
2.1.10, MathJax 2.7.7; jQuery 3.5.1), and points the decks at them with relative URLs: copy the
whole ``build/slides/`` folder and open a deck in a browser. They are fetched once and reused.
Without ``npm`` (or with ``--cdn``) the decks load the libraries from the CDNs instead.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOKS = [ROOT / "notebooks" / "02_convolution_and_pooling.ipynb", ROOT / "notebooks" / "03_baseline_cnn.ipynb"]
# name in vendor/ -> (npm package@version, the file the deck loads, relative to the package)
VENDOR = {
    "reveal.js": ("reveal.js@4.0.2", "dist/reveal.js"),
    "requirejs": ("requirejs@2.1.10", "require.js"),
    "jquery": ("jquery@3.5.1", "dist/jquery.min.js"),
    "mathjax": ("mathjax@2.7.7", "MathJax.js"),
}


def vendor_ready(vendor: Path) -> bool:
    return all((vendor / name / entry).is_file() for name, (_, entry) in VENDOR.items())


def fetch_vendor(vendor: Path) -> bool:
    """Unpack the pinned npm packages into ``vendor/``; False if npm is missing or fails."""
    if vendor_ready(vendor):
        return True
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the decks will load reveal.js and friends from their CDNs", file=sys.stderr)
        return False
    vendor.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (spec, entry) in VENDOR.items():
            if (vendor / name / entry).is_file():
                continue
            done = subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp, spec],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"npm pack {spec} failed ({done.stderr.strip()[-300:]}): using the CDNs", file=sys.stderr)
                return False
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            target = vendor / name
            shutil.rmtree(target, ignore_errors=True)
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getmembers() if m.name.startswith("package/") and (m.isfile() or m.isdir())]
                for member in members:
                    member.name = member.name.removeprefix("package/")
                archive.extractall(target, members=members, filter="data")
    return vendor_ready(vendor)


def nbconvert_options(local: bool) -> list[str]:
    options = ["--SlidesExporter.reveal_scroll=True", "--SlidesExporter.reveal_number=c/t"]
    if local:
        options += [
            "--SlidesExporter.reveal_url_prefix=vendor/reveal.js",
            "--SlidesExporter.require_js_url=vendor/requirejs/require.js",
            "--SlidesExporter.jquery_url=vendor/jquery/dist/jquery.min.js",
            "--SlidesExporter.mathjax_url=vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        ]
    return options


def build(out: Path, notebooks: list[Path], cdn: bool = False) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    local = not cdn and fetch_vendor(out / "vendor")
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", "--output-dir", str(out),
               *nbconvert_options(local), *map(str, notebooks)]
    subprocess.run(command, check=True)
    decks = [out / f"{nb.stem}.slides.html" for nb in notebooks]
    missing = [d.name for d in decks if not d.is_file()]
    if missing:
        raise SystemExit(f"nbconvert wrote no {missing}")
    print(f"decks in {out} ({'reveal.js from vendor/' if local else 'reveal.js from the CDN'}): "
          + ", ".join(d.name for d in decks))
    return decks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=DEFAULT_NOTEBOOKS)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument("--cdn", action="store_true", help="load reveal.js and friends from their CDNs")
    args = parser.parse_args(argv)
    build(args.out.resolve(), [p.resolve() for p in args.notebooks], cdn=args.cdn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
