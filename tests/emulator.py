"""The embedded AWS emulator: moto server plus the shims this project needs.

Used by the pytest session fixture, by `make emulator` (``python -m tests.emulator``) and by
the demo. If a LocalStack-compatible endpoint already answers at ``LOCALSTACK_ENDPOINT`` (or
http://127.0.0.1:4566) it is reused instead of starting a server.

moto's gaps are patched in ``tests/emulator_shims.py``. Two more need only settings:
- Lambda's Invoke tries to run Docker and reports a handled error that looks like success;
  ``use_docker: false`` turns that off (the tests call handlers in-process instead).
- AWS managed IAM policies exist only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from tests.emulator_shims import apply_moto_shims

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass
class Emulator:
    """A running emulator: where it answers and whether this process owns it."""

    endpoint_url: str
    region: str = DEFAULT_REGION
    server: object | None = None  # moto ThreadedMotoServer when we started it

    @property
    def owned(self) -> bool:
        return self.server is not None

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point every SDK and the AWS CLI at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **TEST_CREDENTIALS,
        }

    def reset(self) -> None:
        """Forget every resource (moto only); a no-op against an external emulator."""
        if self.owned:
            _post_json(f"{self.endpoint_url}/moto-api/reset", {})

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def _post_json(url: str, payload: dict, timeout: float = 5.0) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _answers_like_aws(endpoint_url: str) -> bool:
    """True when something at the URL answers the LocalStack health route or moto's API."""
    for route in ("/_localstack/health", "/moto-api/data.json"):
        try:
            with urllib.request.urlopen(endpoint_url + route, timeout=1.0) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_moto(host: str = DEFAULT_HOST, port: int | None = None) -> Emulator:
    """Start moto server in this process on ``port`` (4566 unless taken, then a free one)."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    apply_moto_shims()
    if port is None:
        port = DEFAULT_PORT if _port_is_free(host, DEFAULT_PORT) else _free_port(host)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    emulator = Emulator(endpoint_url=f"http://{host}:{port}", server=server)
    _post_json(f"{emulator.endpoint_url}/moto-api/config", {"lambda": {"use_docker": False}})
    logger.info("moto server listening on %s", emulator.endpoint_url)
    return emulator


def connect_or_start() -> Emulator:
    """Reuse a LocalStack-compatible endpoint that already answers, or start moto."""
    configured = os.environ.get("LOCALSTACK_ENDPOINT")
    candidate = configured or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    if _answers_like_aws(candidate):
        logger.info("using the AWS emulator already answering at %s", candidate)
        return Emulator(endpoint_url=candidate.rstrip("/"))
    if configured:
        raise RuntimeError(
            f"LOCALSTACK_ENDPOINT={configured} does not answer like LocalStack or moto; "
            "start it or unset the variable to use the embedded emulator"
        )
    return start_moto()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the embedded AWS emulator in the foreground.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to bind")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    emulator = start_moto(args.host, args.port)
    for name, value in emulator.environment().items():
        logger.info("export %s=%s", name, value)
    logger.info("Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
