"""The dog-photo page (web/) on this machine, with POST /classify or a deployed API.

With a model archive, ``/classify`` runs the real Lambda handler in front of a local endpoint
on the real serving stack; with ``--api``, the page alone calls a deployed HTTP API.

    python -m local_stack.serving.page build/model.tar.gz --port 8000     # or: make ui
    python -m local_stack.serving.page --api https://ID.execute-api.REGION.amazonaws.com/classify

``/classify`` turns each request into the event an HTTP API (payload format 2.0) would send
the function, runs ``lambda/lambda_function.py`` with it, and answers what the function
answers; bodies over the HTTP API's 10 MB limit are refused as the HTTP API refuses them.
``GET /classify/<id>`` does the same with the status route an asynchronous endpoint's HTTP API
has. The page finds the API through a ``config.json`` served here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import uuid
from pathlib import Path
from types import ModuleType, SimpleNamespace

from flask import Flask, Response, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import make_server

from local_stack.http_api import MAX_HTTP_API_BYTES, Route, http_api_event
from local_stack.paths import REPO_ROOT
from local_stack.serving.endpoint import AccessLog
from local_stack.serving.lambda_runtime import import_handler

logger = logging.getLogger(__name__)

WEB_DIR = REPO_ROOT / "web"


def create_app(handler: ModuleType | None, api_url: str = "/classify") -> Flask:
    """The page, its ``config.json`` naming ``api_url``, and, with a handler, POST /classify."""
    app = Flask("local_stack.serving.page")
    app.config["MAX_CONTENT_LENGTH"] = MAX_HTTP_API_BYTES

    @app.get("/")
    def page():
        return send_from_directory(WEB_DIR, "index.html")

    @app.get("/config.json")
    def config():
        return Response(json.dumps({"apiUrl": api_url}), content_type="application/json")

    @app.get("/<path:name>")
    def static_file(name: str):
        return send_from_directory(WEB_DIR, name)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_served(error):
        message = (
            f"no route {request.method} {request.path}: the page is GET / and the API "
            "POST /classify"
        )
        code = "not_found" if error.code == 404 else "method_not_allowed"
        body = json.dumps({"error": {"code": code, "message": message}})
        return Response(body, error.code, content_type="application/json")

    if handler is not None:
        add_api_routes(app, handler)
    return app


def add_api_routes(app: Flask, handler: ModuleType) -> None:
    """POST /classify and GET /classify/<id> through ``handler``, as the HTTP API routes them."""

    def through_the_function(method: str, route: Route) -> Response:
        event = http_api_event(
            request.path,
            method,
            list(request.headers.items()),
            request.query_string.decode("latin-1"),
            request.get_data(),
            route,
        )
        answer = handler.lambda_handler(event, SimpleNamespace(aws_request_id=str(uuid.uuid4())))
        return Response(answer["body"], status=answer["statusCode"], headers=answer["headers"])

    @app.post("/classify")
    def classify():
        return through_the_function("POST", Route("POST /classify"))

    # An asynchronous endpoint's status route, as the HTTP API module adds it.
    @app.get("/classify/<inference_id>")
    def status(inference_id: str):
        return through_the_function(
            "GET", Route("GET /classify/{id}", path_parameters={"id": inference_id})
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        return Response(
            json.dumps({"message": "Request Entity Too Large"}),
            413,
            content_type="application/json",
        )


class WebServer:
    """The page and /classify on a loopback port, in a thread."""

    def __init__(
        self,
        handler: ModuleType | None,
        host: str = "127.0.0.1",
        port: int = 0,
        api_url: str = "/classify",
    ):
        self.http_server = make_server(
            host, port, create_app(handler, api_url), threaded=True, request_handler=AccessLog
        )
        self.url = f"http://{host}:{self.http_server.server_port}/"
        self.thread = threading.Thread(target=self.http_server.serve_forever, daemon=True)

    def __enter__(self) -> WebServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.http_server.shutdown()


def local_handler(endpoint_url: str, endpoint_name: str = "local") -> ModuleType:
    """The Lambda handler configured as Terraform configures it, calling ``endpoint_url``."""
    return import_handler(
        {
            "ENDPOINT_NAME": endpoint_name,
            "MODEL_VERSION": "local",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint_url,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
            "LOG_LEVEL": "WARNING",
        }
    )


def serve_until_stopped(web: WebServer, stop: threading.Event) -> None:
    with web:
        logger.info("open %s (Ctrl-C to stop)", web.url)
        try:
            stop.wait()
        except KeyboardInterrupt:
            logger.info("stopping")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.serving.page", description=__doc__.splitlines()[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "model_archive", type=Path, nargs="?", help="model.tar.gz built by ml.package"
    )
    source.add_argument(
        "--api",
        metavar="URL",
        help="serve the page alone, calling this deployed POST /classify URL "
        "(terraform output -raw classify_url)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the page (default: 8000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.api is not None and not args.api.startswith(("https://", "http://")):
        parser.error(f"--api {args.api!r} is not an http(s) URL")
    if args.model_archive is not None and not args.model_archive.is_file():
        parser.error(
            f"{args.model_archive} does not exist; build one with make sample-data train package"
        )
    from local_stack.serving.endpoint import LocalEndpoint, ServingError

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if args.api is not None:
            serve_until_stopped(WebServer(None, port=args.port, api_url=args.api), stop)
            return
        with LocalEndpoint(args.model_archive, port=0) as endpoint:
            serve_until_stopped(WebServer(local_handler(endpoint.url), port=args.port), stop)
    except ServingError as error:
        parser.exit(1, f"error: {error}\n")
    except OSError as error:
        parser.exit(1, f"error: port {args.port}: {error.strerror}; choose another with --port\n")


if __name__ == "__main__":
    main()
