"""Shared fixtures: the embedded AWS emulator and the terraform binary."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.emulator import Emulator, connect_or_start


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One AWS emulator for the whole session, with the standard AWS variables exported."""
    running = connect_or_start()
    saved = {name: os.environ.get(name) for name in running.environment()}
    os.environ.update(running.environment())
    try:
        yield running
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        running.stop()


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    """The terraform binary; skipped with the reason when missing, but never in CI."""
    binary = shutil.which("terraform")
    if binary is None:
        reason = "terraform is not on PATH; install Terraform >= 1.7 to run the Terraform tests"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run every test)")
        pytest.skip(reason)
    return binary
