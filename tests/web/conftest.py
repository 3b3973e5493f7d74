"""The page served by the local stack, and a headless Chromium to drive it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local_stack.demo.sample_data import generate
from local_stack.serving.page import WebServer, local_handler
from ml.package import build_model_archive
from tests.shared_builds import built_once_per_run
from tests.training import TINY_TRAIN_ARGS, run_train, split_args

BROWSER_FLAGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "the browser tests need Chromium: run make setup as root (it installs Debian's), or "
            "sudo apt-get install chromium, or set CHROMIUM=/path/to/chromium"
        )
    return found


@pytest.fixture(scope="session")
def five_breeds(request) -> Path:
    """Five breeds, as the page shows the top five (one folder for the run's processes)."""

    def build(folder: Path) -> None:
        generate(folder / "dogImages", classes=5, per_class=16, eval_per_class=4, size=48, seed=5)

    return built_once_per_run(request, "five-breeds", build) / "dogImages"


@pytest.fixture(scope="session")
def five_breeds_archive(request, five_breeds) -> Path:
    """A tiny model of the five breeds, packaged as the endpoint serves it."""

    def build(root: Path) -> None:
        run_train(*TINY_TRAIN_ARGS, *split_args(five_breeds, root / "model", root / "checkpoints"))
        build_model_archive(root / "model", root / "model.tar.gz")

    return built_once_per_run(request, "five-breeds-model", build) / "model.tar.gz"


@pytest.fixture(scope="module")
def site(five_breeds, five_breeds_archive) -> Iterator[str]:
    from local_stack.serving.endpoint import LocalEndpoint

    archive = five_breeds_archive
    with (
        LocalEndpoint(archive, port=0) as endpoint,
        WebServer(local_handler(endpoint.url)) as web,
    ):
        # The model's first answer costs seconds more than the next (a cold worker): paid
        # here, not inside a test's wait for the page.
        photo = sorted((five_breeds / "test").glob("*/*.jpg"))[0].read_bytes()
        warm = requests.post(
            f"{web.url}/classify", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=120
        )
        assert warm.status_code == 200, warm.text
        yield web.url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A desktop-sized tab; any uncaught JavaScript error fails the test."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda error: script_errors.append(str(error)))
    yield opened
    context.close()
    assert not script_errors, f"the page raised: {script_errors}"
