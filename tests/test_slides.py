"""Slides for notebooks 02 and 03: scripts/slides_metadata.py's rules on copies, the committed
notebooks carrying its result, and ``make slides``' decks stepped through in Debian's Chromium.

Decks and screenshots are written to temporary folders; the pinned reveal.js, require.js,
jQuery and MathJax are fetched once with npm into build/slides/vendor/ (gitignored) and reused.
"""
from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
DECK_NOTEBOOKS = ["02_convolution_and_pooling.ipynb", "03_baseline_cnn.ipynb"]
# Optional CDN loads of nbconvert's template that these decks do without: icons, a web font (the
# browser falls back to a local one), Mermaid (for diagrams, which no cell has).
OPTIONAL_CDN = ("https://maxcdn.bootstrapcdn.com/font-awesome/", "https://fonts.googleapis.com/",
                "https://cdnjs.cloudflare.com/ajax/libs/mermaid/")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


slides_metadata = _load("slides_metadata")
build_slides = _load("build_slides")
slide_screenshot = _load("slide_screenshot")


def _types(nb) -> list[str]:
    return [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]


@pytest.mark.parametrize("name", DECK_NOTEBOOKS)
def test_rules_on_a_copy_are_idempotent_and_touch_only_slide_metadata(name, tmp_path):
    path = tmp_path / name
    shutil.copy(ROOT / "notebooks" / name, path)
    original = nbformat.read(path, as_version=4)
    for cell in original.cells:
        cell.metadata.pop("slideshow", None)
    nbformat.write(original, path)

    assert slides_metadata.main([str(path)]) == 0
    once = path.read_text()
    assert slides_metadata.main([str(path)]) == 0
    assert path.read_text() == once, "a second run changed the notebook"

    nb = nbformat.reads(once, as_version=4)
    for before, after in zip(original.cells, nb.cells, strict=True):
        assert before.source == after.source and before.get("outputs") == after.get("outputs")
        assert {k: v for k, v in after.metadata.items() if k != "slideshow"} == dict(before.metadata)
    types = _types(nb)
    assert set(types) <= {"slide", "subslide", "fragment", "-", "notes", "skip"}
    assert types[0] == "slide"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert types[first_code] == "skip"
    for cell, kind in zip(nb.cells, types):
        if "solution" in cell.metadata.get("tags", []):
            assert kind == "skip"
        elif cell.cell_type == "markdown" and cell.source.startswith("## "):
            assert kind == "slide", cell.source[:60]
        elif cell.cell_type == "code" and kind not in ("skip", "subslide"):
            long = len(cell.source.splitlines()) > slides_metadata.LONG_CODE_LINES
            assert kind == ("notes" if long else "fragment"), cell.source[:60]
    assert types.count("slide") >= 5


def test_made_up_cells_get_the_documented_types():
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Title"),
        v4.new_code_cell("import os"),
        v4.new_markdown_cell("## A section"),
        v4.new_markdown_cell("Some text."),
        v4.new_code_cell("x = 1"),
        v4.new_code_cell("\n".join(f"y{i} = {i}" for i in range(slides_metadata.LONG_CODE_LINES + 1))),
        v4.new_code_cell("plot_curves(history)"),
        v4.new_code_cell("z = 2", outputs=[v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]),
        v4.new_markdown_cell("### A step"),
        v4.new_markdown_cell("**Solutions**", metadata={"tags": ["solution"]}),
        v4.new_code_cell('print(f"This run took {(time.perf_counter() - RUN_START) / 60:.1f} min")'),
    ])
    assert _types(slides_metadata.apply(copy.deepcopy(nb))) == [
        "slide", "skip", "slide", "-", "fragment", "notes", "subslide", "subslide", "subslide", "skip", "skip"]


@pytest.mark.parametrize("name", DECK_NOTEBOOKS)
def test_committed_notebooks_carry_the_scripts_slide_metadata(name):
    """Run `python scripts/slides_metadata.py` after changing notebook 02 or 03."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert _types(nb) == _types(slides_metadata.apply(copy.deepcopy(nb)))


def test_normalise_keeps_slide_metadata():
    normalise = _load("normalise_notebook")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T", metadata={"slideshow": {"slide_type": "slide"}})])
    assert normalise.normalise(nb).cells[0].metadata == {"slideshow": {"slide_type": "slide"}}


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> Path:
    """`make slides`' decks, written to a temporary folder, with the cached vendor/ libraries beside them."""
    cache = ROOT / "build" / "slides" / "vendor"
    if not build_slides.fetch_vendor(cache):
        message = "reveal.js and friends could not be fetched with npm into build/slides/vendor/"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("slides")
    (out / "vendor").symlink_to(cache, target_is_directory=True)
    build_slides.build(out, [ROOT / "notebooks" / n for n in DECK_NOTEBOOKS])
    return out


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("name", DECK_NOTEBOOKS)
def test_deck_steps_through_slides_in_chromium(name, decks, chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    deck = decks / name.replace(".ipynb", ".slides.html")
    html = deck.read_text()
    assert 'src="vendor/reveal.js/dist/reveal.js"' not in html  # loaded through require.js, by relative URL
    assert "vendor/reveal.js/dist/reveal.css" in html and "https://unpkg.com/reveal.js" not in html
    source = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    solutions = [c.source for c in source.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions
    for text in solutions:  # the longest plain phrase of each solution cell is nowhere in the deck
        phrases = re.findall(r"[A-Za-z][A-Za-z ,]{25,}", text) or [  # code: its longest line without quotes
            line.strip() for line in text.splitlines() if not set("'\"<>&") & set(line)]
        phrase = max(phrases, key=len)
        assert phrase not in html, f"a solution reached the deck: {phrase!r}"

    refused, errors = [], []
    with slide_screenshot.serve(decks) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=slide_screenshot.CHROMIUM_ARGS,
                                             headless=True)
        try:
            page = browser.new_page(viewport=slide_screenshot.VIEWPORT)
            page.set_default_timeout(60_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            slide_screenshot.local_only(page, base, refused)
            page.goto(f"{base}/{deck.name}")
            expect(page.locator(".reveal.ready")).to_have_count(1, timeout=60_000)
            assert page.evaluate("typeof MathJax !== 'undefined' && typeof require !== 'undefined'")
            title = source.cells[0].source.splitlines()[0].lstrip("# ").split("·")[-1].strip()
            expect(page.locator("section.present").first).to_contain_text(title)
            assert page.locator(".reveal .slides > section").count() >= 5
            assert page.locator("aside.notes").count() >= 1, "long code cells should be speaker notes"

            seen = []  # Right: the next fragment or slide; Space: the next step down or right
            for step, key in enumerate(["ArrowRight", "ArrowRight", "Space", "Space", "ArrowRight", "Space"]):
                page.keyboard.press(key)
                page.wait_for_timeout(900)  # the transition
                present = page.locator(".reveal .slides section.present").last
                seen.append((page.url, present.inner_text()))
                page.screenshot(path=str(tmp_path / f"{deck.stem}_{step}.png"))
            urls = [url for url, _ in seen]
            assert len(set(urls)) == len(urls), f"a key press did not move to another slide: {urls}"
            assert all(text.strip() for _, text in seen), "an empty slide"
            assert len({text for _, text in seen}) >= 3, "the slides' content did not change"

            # A figure slide: its image is loaded and shown large.
            figures = page.locator(".reveal .slides img")
            if figures.count():
                found = page.evaluate(slide_screenshot.GO_TO_TEXT, "plot_")
                assert found, "no slide with a plot_ call"
                page.wait_for_timeout(1200)
                image = page.locator(".reveal .slides section.present img").first
                expect(image).to_be_visible()
                assert image.evaluate("img => img.complete && img.naturalWidth > 0")
                assert image.bounding_box()["width"] >= 300
                page.screenshot(path=str(tmp_path / f"{deck.stem}_figure.png"))
        finally:
            browser.close()
    assert not errors, errors
    assert all(url.startswith(OPTIONAL_CDN) for url in refused), refused
    shots = sorted(tmp_path.glob("*.png"))
    assert len(shots) >= 5 and all(p.stat().st_size > 5_000 for p in shots)
