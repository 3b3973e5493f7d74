"""A model.tar.gz answered in this process by the serving toolkit's handler service, without
TorchServe's Java front.

The toolkit allows one TorchServe per host (it finds "its" server by scanning processes). A
second model that must answer at the same time (a second endpoint on the emulator, a shadow
variant) is served this way: the archive extracted as the container's model dir, TorchServe's
own ``Context`` and the toolkit's ``HandlerService`` loading ``code/inference.py`` from it, as
TorchServe's Python worker does (``tests/parity`` runs the same chain on the runtimes' versions).
What differs from TorchServe: one request at a time (TorchServe's workers answer in parallel),
and no TorchServe errors of its own (a request that reaches no worker, a worker that died).
"""

from __future__ import annotations

import logging
import os
import sys
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# TorchServe's version as the toolkit's context reports it (ts.context.Context's mms_version).
TS_VERSION = "0.12.0"


@dataclass(frozen=True)
class Answer:
    """A model server's answer: status, body and its content type."""

    status_code: int
    content: bytes
    content_type: str


def extract_model(archive: Path, model_dir: Path) -> None:
    """The archive as the container's model dir; a ValueError names what is wrong with it."""
    model_dir.mkdir(parents=True)
    try:
        with tarfile.open(archive) as bundle:
            bundle.extractall(model_dir, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ValueError(
            f"{archive} is not a model.tar.gz ({error}): build one with "
            "python -m ml.package MODEL_DIR model.tar.gz (make package)"
        ) from None
    if not (model_dir / "code" / "inference.py").is_file():
        raise ValueError(f"{archive} has no code/inference.py; build it with python -m ml.package")


class HandlerServiceBackend:
    """The handler chain of one extracted model, loaded once, one request at a time.

    It changes this process's environment and import path as the container's are set
    (``SAGEMAKER_PROGRAM``, the archive's ``code/`` first on ``sys.path``): one per process.
    """

    def __init__(self, model_dir: Path):
        from sagemaker_pytorch_serving_container.handler_service import HandlerService
        from ts.context import Context

        os.environ["SAGEMAKER_PROGRAM"] = "inference.py"
        os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] = str(model_dir / "code")
        sys.path.insert(0, str(model_dir / "code"))
        self.context = Context("model", str(model_dir), {}, 1, None, TS_VERSION)
        self.service = HandlerService()
        self.service.initialize(self.context)
        self.lock = threading.Lock()

    def ping(self) -> Answer:
        return Answer(200, b'{"status": "Healthy"}\n', "application/json")

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        from ts.context import RequestProcessor

        with self.lock:
            self.context.request_processor = [
                RequestProcessor({"Content-Type": content_type, "Accept": accept})
            ]
            (output,) = self.service.handle([{"body": body}], self.context)
            status, _ = self.context.get_response_status(0)
            headers = self.context.get_response_headers(0)
        content = output.encode() if isinstance(output, str) else bytes(output)
        return Answer(status, content, headers.get("content-type", accept))
