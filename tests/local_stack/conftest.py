"""An unpatched moto server, to show the gaps the emulator's shims fill."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from local_stack.emulator import TEST_CREDENTIALS, Emulator
from local_stack.ports import free_port


@pytest.fixture(scope="session")
def unpatched_moto(tmp_path_factory) -> Iterator[Emulator]:
    """moto server as installed, in its own process: none of the shims."""
    port = free_port()
    log = tmp_path_factory.mktemp("unpatched-moto") / "moto.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/config", timeout=1).close()
            break
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"unpatched moto did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
    try:
        yield Emulator(endpoint_url=url)
    finally:
        process.terminate()
        process.wait(timeout=10)


def direct_clients(emulator: Emulator, max_attempts: int = 1):
    """A client factory for one emulator whatever AWS_ENDPOINT_URL says (plain boto3); its
    clients try each call ``max_attempts`` times (SDK standard retries)."""

    def clients(service: str):
        return boto3.client(
            service,
            endpoint_url=emulator.endpoint_url,
            region_name=emulator.region,
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"mode": "standard", "max_attempts": max_attempts}),
        )

    return clients
