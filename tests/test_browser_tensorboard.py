"""End to end in a real browser: TensorBoard inside notebook 07 in JupyterLab (notebook 07).

Starts JupyterLab on 127.0.0.1 with a token (interactive: no ``CATSDOGS_HEADLESS``, and the
virtual environment's ``bin/`` off ``PATH``), drives Debian's headless Chromium with
Playwright to open notebook 07 and run it down to its TensorBoard cell, and checks that the
embedded frame loads TensorBoard listing this project's runs, and that the HParams data of
those runs is served. Saves the screenshots the notebook's tour shows (``docs/images/07_*.png``) in a temporary
folder; ``make refresh-screenshots`` writes them to docs/images/ on purpose.

The runs are real: two registered variants trained briefly on the shared sample.
Needs ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it): skipped
without it, except in CI (``CI`` set), where that is a failure.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "07_comparing_runs_in_tensorboard.ipynb"
IMAGES = ROOT / "docs" / "images"
SCREENSHOTS_VARIABLE = "CATSDOGS_SCREENSHOTS"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
VARIANTS = ["baseline", "color_larger"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(tmp_path_factory, manifest) -> Path:
    """A project home with notebook 07, its images and two real runs in logs/."""
    from utils.config import get_profile
    from utils.fit import train_variant

    root = tmp_path_factory.mktemp("project")
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK)
    if IMAGES.is_dir():
        shutil.copytree(IMAGES, root / "docs" / "images")
    # Three epochs so the curves are curves; the smoke manifest keeps it to seconds.
    profile = dataclasses.replace(get_profile("smoke"), max_epochs=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CATSDOGS_HOME", str(root))
        for variant in VARIANTS:
            train_variant(variant, frame=manifest, profile=profile, epochs=3)
    return root


def _free_port() -> int:
    from utils.tensorboard import free_port

    return free_port()


def _wait_for(url: str, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture
def jupyterlab(project, tmp_path):
    """JupyterLab serving ``project`` on 127.0.0.1: yields (base URL, token); stops it and its children."""
    import psutil

    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {k: v for k, v in os.environ.items() if k not in ("CATSDOGS_HEADLESS", "TENSORBOARD_BINARY", "JUPYTER_PLATFORM_DIRS")}
    env.update({
        "CATSDOGS_HOME": str(project),
        "PATH": "/usr/bin:/bin",  # the venv's bin/ is not on PATH: the notebook must still find tensorboard
        "TMPDIR": str(tmp_path),  # TensorBoard's server records stay in here
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    })
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={project}",
        "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    log = open(tmp_path / "jupyter.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=project)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status?token={token}", 90, server, tmp_path / "jupyter.log")
        yield base, token
    finally:
        children = []
        try:
            children = psutil.Process(server.pid).children(recursive=True)  # kernels, TensorBoard
        except psutil.NoSuchProcess:
            pass
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for child in children:
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            child.kill()
        log.close()


def _tidy(action) -> None:
    """A cosmetic step for a screenshot (filter, hide a column): skipped if TensorBoard's UI changed."""
    from playwright.sync_api import Error

    try:
        action()
    except Error:
        pass


def screenshot_dir() -> Path:
    """Where the screenshots go: $CATSDOGS_SCREENSHOTS (``make refresh-screenshots`` names
    docs/images/ there), else a temporary folder: a test run never rewrites tracked files."""
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    return Path(chosen) if chosen else Path(tempfile.gettempdir()) / "catsdogs-screenshots"


def _save_screenshot(target, name: str, **kwargs) -> Path:
    """A small PNG (256-colour palette) in :func:`screenshot_dir`."""
    from PIL import Image

    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(target.screenshot(**kwargs))).convert("RGB")
    path = folder / name
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def test_tensorboard_runs_inside_notebook_07_in_jupyterlab(chromium, project, jupyterlab):
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyterlab
    runs = sorted(p.name for p in (project / "logs").iterdir() if (p / "run.json").is_file())
    assert len(runs) == len(VARIANTS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
            cell = page.locator(".jp-CodeCell").filter(has_text="start_tensorboard(LOGS")
            expect(cell).to_have_count(1, timeout=90_000)
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=90_000)

            # Run the notebook down to the TensorBoard cell, as a learner does, then that cell.
            cell.locator(".jp-InputPrompt").click()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Above Selected Cell").click()
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=180_000)
            cell.locator(".jp-InputPrompt").click()
            page.keyboard.press("Shift+Enter")

            frame_element = cell.locator("iframe[id^='tensorboard-frame']")
            expect(frame_element).to_have_count(1, timeout=120_000)
            output = cell.locator(".jp-OutputArea").inner_text()
            assert "no TensorBoard server" not in output and "TensorBoard on logs/" in output, output
            src = frame_element.get_attribute("src")
            tensorboard_url = f"{urllib.parse.urlsplit(src).scheme}://{urllib.parse.urlsplit(src).netloc}"

            # The embedded TensorBoard lists this project's runs.
            frame = cell.frame_locator("iframe[id^='tensorboard-frame']")
            for run in runs:
                expect(frame.get_by_text(f"{run}/validation").first).to_be_visible(timeout=90_000)
            page.keyboard.press("Escape")
            page.keyboard.press("Control+b")  # hide the file browser: more room for TensorBoard
            cell.evaluate("element => element.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(1500)
            _save_screenshot(page, "07_jupyterlab_tensorboard.png")

            # TensorBoard's own data: the runs and the HParams of each run.
            listed = _get_json(f"{tensorboard_url}/data/runs")
            for run in runs:
                assert {run, f"{run}/train", f"{run}/validation"} <= set(listed), listed
            query = urllib.parse.quote(json.dumps({"experimentName": ""}))
            experiment = _get_json(f"{tensorboard_url}/data/plugin/hparams/experiment?request={query}")
            hparam_names = {h["name"] for h in experiment["hparamInfos"]}
            assert {"variant", "image_size", "learning_rate"} <= hparam_names, hparam_names
            metric_tags = {(m["name"].get("group"), m["name"]["tag"]) for m in experiment["metricInfos"]}
            assert ("validation", "epoch_loss") in metric_tags, metric_tags
            variants = next(h for h in experiment["hparamInfos"] if h["name"] == "variant")
            assert set(variants["domainDiscrete"]) == set(VARIANTS)

            # The tour's screenshots, from TensorBoard's own pages.
            board = browser.new_page(viewport={"width": 1100, "height": 700})
            board.set_default_timeout(60_000)
            board.goto(f"{tensorboard_url}/#scalars&_smoothingWeight=0")
            expect(board.get_by_text("epoch_loss").first).to_be_visible(timeout=60_000)
            _tidy(lambda: board.locator("tf-runs-selector input").first.fill("validation", timeout=5000))
            board.wait_for_timeout(3000)
            _save_screenshot(board, "07_tensorboard_scalars.png")

            board.set_viewport_size({"width": 1500, "height": 600})
            board.goto(f"{tensorboard_url}/#hparams")
            expect(board.get_by_text("TABLE VIEW", exact=False).first).to_be_visible(timeout=60_000)
            for run in runs:  # one table row per run, its variant beside it
                expect(board.get_by_role("gridcell", name=run, exact=True)).to_be_visible(timeout=60_000)
            for variant in VARIANTS:
                expect(board.get_by_role("gridcell", name=variant, exact=True)).to_be_visible()
            for name in ["variant", "image_size", "color_mode"]:
                expect(board.get_by_text(name, exact=True).first).to_be_visible()
            # Fewer hyperparameter columns, so the metric columns fit in the picture.
            hidden = ["batch_size", "color_mode", "learning_rate", "lr_schedule", "max_epochs", "profile",
                      "train.epoch_accuracy", "train.epoch_learning_rate", "validation.epoch_learning_rate"]
            for name in hidden:
                _tidy(lambda: board.get_by_role("checkbox", name=name, exact=True).first.uncheck(timeout=3000))
            board.wait_for_timeout(1500)
            _save_screenshot(board, "07_tensorboard_hparams_table.png")

            board.get_by_text("PARALLEL COORDINATES VIEW", exact=False).first.click(timeout=10_000)
            board.wait_for_timeout(3000)
            _save_screenshot(board, "07_tensorboard_parallel_coordinates.png")
        finally:
            browser.close()

    for name in ["07_jupyterlab_tensorboard.png", "07_tensorboard_scalars.png", "07_tensorboard_hparams_table.png",
                 "07_tensorboard_parallel_coordinates.png"]:
        assert 5_000 < (screenshot_dir() / name).stat().st_size < 400_000, name
