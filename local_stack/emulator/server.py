"""The embedded AWS emulator: moto server plus the shims this project needs.

    python -m local_stack.emulator [--port 4566]     # or: make emulator

Used by the test session, the demo and `make emulator`. If a LocalStack-compatible endpoint
already answers at ``LOCALSTACK_ENDPOINT`` (or http://127.0.0.1:4566) it is reused instead of
starting a server; a run that needs a behaviour only the shims give (``require``) probes it
first and refuses an emulator that lacks one.

moto's gaps are patched in ``shims``; an answer its HTTP server lost is given again to the
SDK's retry of that call (``retries``). Two more need only settings:
- Lambda's Invoke tries to run Docker and reports a handled error that looks like success;
  ``use_docker: false`` turns that off (the tests call handlers in-process instead).
- AWS managed IAM policies exist only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from local_stack.emulator.http_apis import HttpApiRouter, HttpApis
from local_stack.emulator.local_mode import LocalMode, install, uninstall
from local_stack.emulator.recorder import CallRecorder, RecordingApp
from local_stack.emulator.retries import RetriedAttempts
from local_stack.emulator.shims import SHIM_NAMES, SHIMS, apply_moto_shims
from local_stack.emulator.training import Endpoint
from local_stack.ports import LOOPBACK, port_is_free

logger = logging.getLogger(__name__)

DEFAULT_HOST = LOOPBACK
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class EmulatorError(RuntimeError):
    """The emulator cannot serve this run; the message says why and what to do."""


@dataclass
class Emulator:
    """A running emulator: where it answers and whether this process owns it."""

    endpoint_url: str
    region: str = DEFAULT_REGION
    server: object | None = None  # moto ThreadedMotoServer when we started it
    recorder: CallRecorder | None = None  # the signed requests it answered, when we started it
    local_mode: LocalMode | None = None  # the jobs it runs for real, when we started it
    _probed: dict[str, bool] = field(default_factory=dict, repr=False)

    @property
    def owned(self) -> bool:
        return self.server is not None

    @property
    def host_port(self) -> str:
        return urlsplit(self.endpoint_url).netloc

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point every SDK and the AWS CLI at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **TEST_CREDENTIALS,
        }

    def missing(self, names: Iterable[str], make_client: Callable[[str], Any]) -> list[str]:
        """Which of the shimmed behaviours ``names`` this emulator lacks. One this process
        started has them all; another is probed (once per behaviour) through ``make_client``
        (a service name in, a boto3 client bound to this emulator out)."""
        names = sorted(set(names))
        if unknown := set(names) - SHIM_NAMES:
            raise ValueError(f"no such emulator behaviour: {sorted(unknown)}")
        if self.owned:
            return []
        for shim in SHIMS:
            if shim.name in names and shim.name not in self._probed:
                self._probed[shim.name] = shim.probe(make_client)
        return [name for name in names if not self._probed[name]]

    def require(
        self, names: Iterable[str], purpose: str, make_client: Callable[[str], Any]
    ) -> None:
        """Refuse, with what to do, an emulator that lacks a behaviour ``purpose`` needs."""
        if missing := self.missing(names, make_client):
            raise EmulatorError(
                f"the AWS emulator at {self.endpoint_url} lacks {', '.join(missing)}, which "
                f"{purpose} needs (moto gaps that local_stack/emulator/shims.py fills): stop it "
                "so the run starts its own, or run `make emulator` there instead"
            )

    def reset(self) -> None:
        """Forget every resource and end every job it runs (moto only); a no-op against an
        external emulator."""
        if self.local_mode is not None:
            self.local_mode.stop_all()
        if self.owned:
            _post_json(f"{self.endpoint_url}/moto-api/reset", {})

    def stop(self) -> None:
        """Stop serving; every process its jobs started ends first."""
        if self.local_mode is not None:
            self.local_mode.shutdown()
            uninstall(self.local_mode)
            self.local_mode = None
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


def answers_like_aws(endpoint_url: str) -> bool:
    """True when something at the URL answers the LocalStack health route or moto's API."""
    for route in ("/_localstack/health", "/moto-api/config"):
        try:
            with urllib.request.urlopen(endpoint_url + route, timeout=1.0) as response:
                if 200 <= response.status < 300:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def start_moto(
    host: str = DEFAULT_HOST, port: int | None = None, local_mode: bool = True
) -> Emulator:
    """Start moto server in this process, recording the signed requests it answers
    (``local_stack.emulator.recorder``): on ``port`` (0: one the OS picks; None: 4566 unless
    taken, then a free one). A port that is taken is an EmulatorError at once. With
    ``local_mode`` the SageMaker jobs it is asked for run for real
    (``local_stack.emulator.local_mode``); off, they are only recorded (it can be turned on
    later through ``Emulator.local_mode.enabled``)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class RecordingMotoServer(ThreadedMotoServer):
        """moto's own threaded server, its application wrapped in the recorder, and bound in
        the caller's thread: bound in moto's thread, a taken port's error is lost there and
        start() waits for ever."""

        def start(self) -> None:
            moto = RetriedAttempts(DomainDispatcherApplication(create_backend_app))
            app = HttpApiRouter(RecordingApp(moto, recorder), apis)
            self._server = make_server(self._ip_address, self._port, app, True)
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    apply_moto_shims()
    if port is None:
        port = DEFAULT_PORT if port_is_free(host, DEFAULT_PORT) else 0
    taken = EmulatorError(
        f"port {port} on {host} is taken: stop what listens there, or choose another port "
        "(make emulator EMULATOR_PORT=4567; make demo EMULATOR_PORT=0 for any free one)"
    )
    if port and not port_is_free(host, port):
        raise taken
    recorder = CallRecorder()
    modes: list[LocalMode] = []  # this emulator's, once it is made
    apis = HttpApis(enabled=lambda: bool(modes) and modes[0].enabled)
    server = RecordingMotoServer(ip_address=host, port=port, verbose=False)
    try:
        server.start()
    except (OSError, SystemExit):  # werkzeug exits on a port taken since the check above
        raise taken from None
    bound = server.get_host_and_port()[1]
    emulator = Emulator(endpoint_url=f"http://{host}:{bound}", server=server, recorder=recorder)
    emulator.local_mode = LocalMode(
        Endpoint(emulator.endpoint_url, emulator.region, TEST_CREDENTIALS), enabled=local_mode
    )
    modes.append(emulator.local_mode)
    install(emulator.local_mode)
    _post_json(f"{emulator.endpoint_url}/moto-api/config", {"lambda": {"use_docker": False}})
    logger.info("moto server listening on %s", emulator.endpoint_url)
    return emulator


def connect_or_start() -> Emulator:
    """Reuse a LocalStack-compatible endpoint that already answers, or start moto."""
    configured = os.environ.get("LOCALSTACK_ENDPOINT")
    candidate = (configured or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}").rstrip("/")
    if answers_like_aws(candidate):
        logger.warning(
            "reusing the AWS emulator already answering at %s (this run did not start it: "
            "what it holds is shared; stop it to have a fresh one)",
            candidate,
        )
        return Emulator(endpoint_url=candidate)
    if configured:
        raise EmulatorError(
            f"LOCALSTACK_ENDPOINT={configured} does not answer like LocalStack or moto; "
            "start it or unset the variable to use the embedded emulator"
        )
    return start_moto()
