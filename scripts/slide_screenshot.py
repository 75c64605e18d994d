"""Save one screenshot of a reveal.js deck (for the README), taken in Debian's Chromium.

Usage: python scripts/slide_screenshot.py DECK.slides.html OUT.png [--text "plot_kernels_and_maps"]

Serves the deck's folder on 127.0.0.1 (nothing else is fetched: every other request is
refused), opens the first slide whose text contains ``--text`` and writes a small PNG
(256-colour palette). ``make refresh-slide-screenshot`` runs it on notebook 02's deck.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import io
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 720}
# Go to the first slide (or sub-slide) whose text contains the given words; returns its "#/h/v" hash.
GO_TO_TEXT = """words => {
  const stacks = [...document.querySelectorAll('.reveal .slides > section')];
  for (let h = 0; h < stacks.length; h++) {
    const inner = [...stacks[h].querySelectorAll(':scope > section')];
    const slides = inner.length ? inner : [stacks[h]];
    for (let v = 0; v < slides.length; v++) {
      if (slides[v].textContent.includes(words)) { location.hash = `#/${h}/${v}`; return location.hash; }
    }
  }
  return null;
}"""


@contextmanager
def serve(folder: Path):
    """A static file server for ``folder`` on 127.0.0.1; yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def local_only(page, base: str, refused: list[str]) -> None:
    """Refuse every request that does not go to ``base`` (and record it)."""
    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)


def small_png(png: bytes, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def screenshot(deck: Path, out: Path, text: str) -> Path:
    from playwright.sync_api import expect, sync_playwright

    with serve(deck.parent) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            local_only(page, base, [])
            page.goto(f"{base}/{deck.name}")
            expect(page.locator(".reveal.ready")).to_have_count(1, timeout=60_000)
            if page.evaluate(GO_TO_TEXT, text) is None:
                raise SystemExit(f"no slide of {deck.name} contains {text!r}")
            page.wait_for_timeout(1500)  # the slide transition
            return small_png(page.screenshot(), out)
        finally:
            browser.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deck", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--text", default="plot_kernels_and_maps", help="words the slide contains (its code or text)")
    args = parser.parse_args(argv)
    path = screenshot(args.deck.resolve(), args.out, args.text)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
