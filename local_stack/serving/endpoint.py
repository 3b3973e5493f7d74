"""Serve a model.tar.gz locally on the SageMaker PyTorch serving stack.

    python -m local_stack.serving.endpoint build/model.tar.gz --port 8080

The AWS PyTorch inference container runs sagemaker-pytorch-inference, which starts TorchServe
(Java) with our ``code/inference.py``. This runs that very toolkit, without Docker, in a child
process bound to loopback, and puts a small front in front of it that answers:

- ``GET /ping`` and ``POST /invocations``: the container contract, passed through;
- ``POST /endpoints/<name>/invocations``: the sagemaker-runtime InvokeEndpoint route, so a
  boto3 client with ``endpoint_url`` pointed here works unchanged. Model errors come back as
  InvokeEndpoint reports them: HTTP 424 ``ModelError`` with ``OriginalStatusCode`` and
  ``OriginalMessage``.

Bodies over InvokeEndpoint's limit (6 MB) are refused here, as SageMaker refuses them before
they reach a container. The access log has no terminal colours and carries the reason of
every error answer.

The toolkit finds "its" TorchServe by scanning processes, so only one can run per host;
``--in-process`` serves another model beside it through the toolkit's handler service, without
TorchServe (``handler_service.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server

from local_stack.ports import free_ports
from local_stack.serving.handler_service import Answer, HandlerServiceBackend, extract_model

logger = logging.getLogger(__name__)

TORCHSERVE_PROCESS_MARKER = "org.pytorch.serve.ModelServer"
# InvokeEndpoint's limit on the request body (API reference, InvokeEndpoint: Body, at most
# 6291456 bytes); SageMaker answers a larger one with 413 and never calls the container.
MAX_REQUEST_BYTES = 6291456
# Where a handler leaves the reason of an error answer for the access log (WSGI environ key).
REASON_KEY = "local_endpoint.reason"
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# The toolkit writes its TorchServe config to /etc; point it somewhere writable first.
TOOLKIT_CHILD = """
import sys
from sagemaker_pytorch_serving_container import serving, torchserve
torchserve.TS_CONFIG_FILE = sys.argv[1]
serving.main()
"""


# What TorchServe and the toolkit log when they stop at start-up.
STARTUP_ERROR = re.compile(r"Address already in use|BindException|Error|Exception|Traceback")


class ServingError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelServer:
    """TorchServe's workers and torch's intra-op threads in each (``threads`` None: torch's
    own, one per physical core), set as the endpoint sets them: SAGEMAKER_MODEL_SERVER_WORKERS
    and OMP_NUM_THREADS."""

    workers: int = 1
    threads: int | None = None

    @classmethod
    def for_vcpus(cls, vcpus: int) -> ModelServer:
        """The endpoint module's rule for a CPU instance (terraform/modules/sagemaker_endpoint/
        instances.tf): one worker per vCPU, one thread each, the best measured under load."""
        return cls(workers=vcpus, threads=1)

    def environment(self) -> dict[str, str]:
        settings = {"SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers)}
        if self.threads is not None:
            settings["OMP_NUM_THREADS"] = str(self.threads)
        return settings


def extract_or_refuse(archive: Path, model_dir: Path) -> None:
    """The archive as the container's model dir; anything but a model.tar.gz with its handler
    is a ServingError in one line."""
    try:
        extract_model(archive, model_dir)
    except ValueError as error:
        raise ServingError(str(error)) from None


def running_torchserve() -> list[int]:
    pids = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if TORCHSERVE_PROCESS_MARKER in cmdline:
            pids.append(process.pid)
    return pids


class ToolkitServer:
    """sagemaker-pytorch-inference + TorchServe serving one extracted model.tar.gz."""

    def __init__(self, model_archive: Path, workdir: Path, server: ModelServer = ModelServer()):
        self.model_archive = Path(model_archive)
        self.workdir = Path(workdir)
        self.server = server
        # Reserved together: TorchServe binds five ports, and two picked apart may coincide.
        (
            self.inference_port,
            self.management_port,
            self.metrics_port,
            self.grpc_inference_port,
            self.grpc_management_port,
        ) = free_ports(5)
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "logs" / "toolkit.log"

    @property
    def inference_url(self) -> str:
        return f"http://127.0.0.1:{self.inference_port}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def _environment(self) -> dict[str, str]:
        temp = self.workdir / "tmp"
        logs = self.workdir / "logs"
        # The shell's own settings of workers and threads would override ours (any
        # SAGEMAKER_TS_* makes the toolkit ignore SAGEMAKER_MODEL_SERVER_WORKERS).
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SAGEMAKER_TS_")
            and key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
        }
        return {
            **inherited,
            "SAGEMAKER_BASE_DIR": str(self.workdir / "opt_ml"),
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_BIND_TO_PORT": str(self.inference_port),
            **self.server.environment(),
            "TS_INFERENCE_ADDRESS": self.inference_url,
            "TS_MANAGEMENT_ADDRESS": self.management_url,
            "TS_METRICS_ADDRESS": f"http://127.0.0.1:{self.metrics_port}",
            "TS_GRPC_INFERENCE_PORT": str(self.grpc_inference_port),
            "TS_GRPC_MANAGEMENT_PORT": str(self.grpc_management_port),
            "TEMP": str(temp),
            "TMPDIR": str(temp),
            "LOG_LOCATION": str(logs),
            "METRICS_LOCATION": str(logs),
            "JAVA_TOOL_OPTIONS": "-XX:-UsePerfData",
            # The toolkit runs the `torchserve` command installed beside this interpreter.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }

    def start(self, timeout: float = 180) -> None:
        if shutil.which("java") is None:
            raise ServingError("java is not on PATH: TorchServe needs a Java 11+ runtime")
        model_dir = self.workdir / "opt_ml" / "model"
        extract_or_refuse(self.model_archive, model_dir)
        if pids := running_torchserve():
            raise ServingError(
                f"TorchServe is already running (pid {pids[0]}); the SageMaker "
                "toolkit supports one model server per host"
            )
        (self.workdir / "tmp").mkdir()
        self.log_path.parent.mkdir()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", TOOLKIT_CHILD, str(self.workdir / "ts.properties")],
                cwd=self.workdir,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        """/ping answers before the model is loaded: wait until every worker is READY."""
        deadline = time.monotonic() + timeout
        ready: list[dict] = []
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                # The toolkit exits 0 whatever TorchServe's status (it waits on a process it
                # did not start): its status is worth saying only when it failed itself.
                status = self.process.returncode
                itself = f" (the toolkit exited with {status})" if status else ""
                raise ServingError(
                    f"TorchServe stopped before the model was ready{itself}: "
                    f"{self.first_error()}; its log is {self.log_path}"
                )
            try:
                response = requests.get(f"{self.management_url}/models/model", timeout=2)
                workers = response.json()[0].get("workers", []) if response.ok else []
                ready = [worker for worker in workers if worker.get("status") == "READY"]
                if len(ready) >= self.server.workers:
                    return
            except (requests.RequestException, ValueError, IndexError, KeyError):
                pass
            time.sleep(0.5)
        self.stop()
        raise ServingError(
            f"{len(ready)} of {self.server.workers} workers were ready after {timeout:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def first_error(self) -> str:
        """The log line that says why TorchServe stopped (a port taken, a handler that failed
        to load), or that none says."""
        if self.log_path.exists():
            for line in self.log_path.read_text(errors="replace").splitlines():
                if STARTUP_ERROR.search(line):
                    return line.strip()[:300]
        return "no line of its log says why"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        # The toolkit passes SIGTERM on to TorchServe, whose Java shutdown can take half a
        # minute; what outlives a short grace is killed below.
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # TorchServe's Java process may outlive the toolkit's Python parent. Waited for: the
        # next server on this host refuses to start while one is still running.
        leftovers = []
        for pid in running_torchserve():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                process = psutil.Process(pid)
                if process.cwd().startswith(str(self.workdir)):
                    process.kill()
                    leftovers.append(process)
        psutil.wait_procs(leftovers, timeout=15)
        self.process = None


def model_error(status: int, body: bytes, endpoint_name: str) -> Response:
    """The InvokeEndpoint answer when the container returned an error status."""
    original = body.decode("utf-8", errors="replace")
    payload = {
        "ErrorCode": "CLIENT_ERROR_FROM_MODEL" if status < 500 else "SERVER_ERROR_FROM_MODEL",
        "Message": f'Received client error ({status}) from primary with message "{original}".'
        if status < 500
        else f'Received server error ({status}) from primary with message "{original}".',
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": f"arn:aws:logs:local:000000000000:log-group:/aws/sagemaker/Endpoints/"
        f"{endpoint_name}",
    }
    return Response(
        json.dumps(payload),
        status=424,
        content_type="application/json",
        headers={"x-amzn-ErrorType": "ModelError"},
    )


def error_reason(status: int, body: bytes) -> str:
    """The message of an error answer: ours (``{"error": {"code", "message"}}``), TorchServe's
    (``{"code", "type", "message"}``) or the first line of anything else."""
    try:
        payload = json.loads(body)
        message = payload["error"]["message"] if "error" in payload else payload["message"]
        return str(message)[:200]
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", errors="replace").splitlines()[0][:200] if body else str(status)


def json_error(status: int, code: str, message: str) -> Response:
    request.environ[REASON_KEY] = message
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status, content_type="application/json")


class AccessLog(WSGIRequestHandler):
    """werkzeug's request log, without terminal colours and with the reason of an error."""

    def log_request(self, code="-", size="-") -> None:
        reason = getattr(self, "environ", {}).get(REASON_KEY)
        logger.info(
            '%s "%s" %s%s',
            self.address_string(),
            self.requestline,
            code,
            f": {reason}" if reason else "",
        )


def create_front(backend, endpoint_name: str | None = None) -> Flask:
    """The front: the container's routes and InvokeEndpoint's, passed to ``backend`` (a
    ``TorchServeBackend`` or a ``HandlerServiceBackend``), and SageMaker's answers to what
    never reaches a container."""
    app = Flask("local_stack.serving.endpoint")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    add_refusals(app)
    add_routes(app, backend, endpoint_name)
    return app


def add_refusals(app: Flask) -> None:
    """JSON answers to bodies over the limit, unknown routes and methods, and forms."""

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        message = f"HTTP content length exceeded {MAX_REQUEST_BYTES} bytes."
        if request.path.startswith("/endpoints/"):  # as sagemaker-runtime answers it
            request.environ[REASON_KEY] = message
            return Response(json.dumps({"message": message}), 413, content_type="application/json")
        return json_error(413, "payload_too_large", message)

    @app.errorhandler(404)
    def not_found(_error):
        return json_error(404, "not_found", f"no route {request.path}: use /ping or /invocations")

    @app.errorhandler(405)
    def wrong_method(_error):
        return json_error(
            405, "method_not_allowed", f"{request.method} {request.path} is not served"
        )

    @app.before_request
    def refuse_forms():
        # TorchServe decodes form content types into fields (an image sent as a form answers a
        # 500 full of raw bytes); refuse them as the handler refuses any other type.
        content_type = (request.mimetype or "").lower()
        if request.method != "POST" or content_type not in FORM_CONTENT_TYPES:
            return None
        answer = json_error(
            415,
            "unsupported_media_type",
            f"unsupported content type {content_type!r}: an HTML form cannot carry the image; "
            "send the image's bytes (any image/* type or application/octet-stream) or JSON "
            "(application/json)",
        )
        if request.view_args and "name" in request.view_args:  # the InvokeEndpoint route
            return model_error(415, answer.get_data(), request.view_args["name"])
        return answer


class TorchServeBackend:
    """The toolkit's TorchServe behind the front, reached over one HTTP session."""

    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def ping(self) -> Answer:
        return answer_of(self.session.get(f"{self.url}/ping", timeout=5))

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        headers = {"Content-Type": content_type, "Accept": accept}
        upstream = self.session.post(
            f"{self.url}/invocations", data=body, headers=headers, timeout=60
        )
        return answer_of(upstream)


def answer_of(upstream: requests.Response) -> Answer:
    return Answer(upstream.status_code, upstream.content, upstream.headers.get("Content-Type", ""))


def invoke(backend) -> Answer:
    """The current request's body and types passed to ``backend``; an error's reason noted
    for the access log."""
    answer = backend.invoke(
        request.get_data(),
        request.content_type or "application/octet-stream",
        request.headers.get("Accept", "application/json"),
    )
    if answer.status_code >= 400:
        request.environ[REASON_KEY] = error_reason(answer.status_code, answer.content)
    return answer


def passed_through(answer: Answer) -> Response:
    return Response(answer.content, status=answer.status_code, content_type=answer.content_type)


def add_routes(app: Flask, backend, endpoint_name: str | None) -> None:
    """The container contract (``/ping``, ``/invocations``) and the InvokeEndpoint route."""

    @app.get("/ping")
    def ping():
        return passed_through(backend.ping())

    @app.post("/invocations")
    def invocations():
        return passed_through(invoke(backend))

    @app.post("/endpoints/<name>/invocations")
    def invoke_endpoint(name: str):
        if endpoint_name is not None and name != endpoint_name:
            return Response(
                json.dumps({"message": f"Endpoint {name} not found."}),
                status=400,
                content_type="application/json",
                headers={"x-amzn-ErrorType": "ValidationError"},
            )
        answer = invoke(backend)
        if answer.status_code >= 400:
            return model_error(answer.status_code, answer.content, name)
        return Response(
            answer.content,
            status=200,
            content_type=answer.content_type or "application/json",
            headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"},
        )


class LocalEndpoint:
    """The model server plus the front, started and stopped together: the toolkit's TorchServe,
    or with ``in_process`` the toolkit's handler service in this process (no Java, one request
    at a time: for a model that answers while another TorchServe runs on this host)."""

    def __init__(
        self,
        model_archive: Path,
        host: str = "127.0.0.1",
        port: int = 8080,
        server: ModelServer = ModelServer(),
        endpoint_name: str | None = None,
        in_process: bool = False,
    ):
        self.workdir = Path(tempfile.mkdtemp(prefix="local-endpoint-"))
        self.model_archive = Path(model_archive)
        self.toolkit = None if in_process else ToolkitServer(model_archive, self.workdir, server)
        self.host, self.port, self.endpoint_name = host, port, endpoint_name
        self.http_server = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 180) -> LocalEndpoint:
        try:
            backend = self._start_backend(timeout)
            app = create_front(backend, self.endpoint_name)
            self.http_server = make_server(
                self.host, self.port, app, threaded=True, request_handler=AccessLog
            )
            self.port = self.http_server.server_port
        except BaseException:
            self.stop()
            raise
        self.thread = threading.Thread(target=self.http_server.serve_forever, daemon=True)
        self.thread.start()
        behind = "the handler service in-process" if self.toolkit is None else "TorchServe"
        logger.info("serving on %s (%s)", self.url, behind)
        return self

    def _start_backend(self, timeout: float):
        if self.toolkit is not None:
            self.toolkit.start(timeout)
            return TorchServeBackend(self.toolkit.inference_url)
        model_dir = self.workdir / "opt_ml" / "model"
        extract_or_refuse(self.model_archive, model_dir)
        return HandlerServiceBackend(model_dir)

    def stop(self) -> None:
        if self.http_server is not None:
            self.http_server.shutdown()
            self.http_server = None
        if self.toolkit is not None:
            self.toolkit.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def model_server(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ModelServer:
    """The endpoint module's rule for this machine's CPUs, with the workers or threads asked
    for in its place; as the module does for a CPU instance, workers x threads must be the
    CPUs: more collapses throughput, fewer leaves cores idle."""
    cpus = len(os.sched_getaffinity(0))  # the CPUs this process may run on
    rule = ModelServer.for_vcpus(cpus)
    server = ModelServer(
        rule.workers if args.workers is None else args.workers,
        rule.threads if args.threads is None else args.threads,
    )
    for name, value in (("--workers", server.workers), ("--threads", server.threads)):
        if value < 1:
            parser.error(f"{name} must be 1 or more, got {value}")
    used = server.workers * server.threads
    if used > cpus:
        parser.error(
            f"{server.workers} workers x {server.threads} threads is more than this "
            f"machine's {cpus} CPUs: oversubscribed cores collapse throughput"
        )
    if used < cpus:
        parser.error(
            f"{server.workers} workers x {server.threads} threads leaves {cpus - used} of this "
            f"machine's {cpus} CPUs idle, which serves fewer requests under load than one "
            f"worker using them all: make --workers x --threads {cpus}"
        )
    return server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.serving.endpoint",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model_archive", type=Path, help="model.tar.gz built by ml.package")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on (0: any free one)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="TorchServe workers (default: one per CPU, with one thread each, as the endpoint "
        "module chooses for an instance; workers x threads must be the CPUs)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads per worker (default: 1)",
    )
    parser.add_argument(
        "--endpoint-name",
        default=None,
        help="answer InvokeEndpoint only for this name (default: any)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="no TorchServe: answer through the serving toolkit's handler service in this "
        "process, one request at a time (for a model that answers while a TorchServe runs on "
        "this host: the toolkit allows one per host)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=180,
        help="seconds to wait for the model to load (default: 180)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.model_archive.is_dir():
        parser.error(
            f"{args.model_archive} is a folder; pass the model.tar.gz built from it "
            f"(python -m ml.package {args.model_archive} build/model.tar.gz, or make package)"
        )
    if not args.model_archive.is_file():
        parser.error(
            f"{args.model_archive} does not exist; build one with make sample-data train package"
        )
    endpoint = LocalEndpoint(
        args.model_archive,
        args.host,
        args.port,
        model_server(parser, args),
        args.endpoint_name,
        args.in_process,
    )
    stop = threading.Event()

    def on_sigterm(*_) -> None:
        logger.info("SIGTERM: stopping the model server")
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        endpoint.start(args.startup_timeout)
    except ServingError as error:
        parser.exit(1, f"error: {error}\n")
    logger.info("ready: curl %s/ping; Ctrl-C to stop", endpoint.url)
    try:
        stop.wait()
    except KeyboardInterrupt:
        logger.info("Ctrl-C: stopping the model server")
    finally:
        endpoint.stop()
        logger.info("stopped")


if __name__ == "__main__":
    main()
