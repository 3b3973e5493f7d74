"""The Lambda function (lambda/) run in this process, as a fresh Lambda container runs it.

moto never runs Lambda code, so the demo and the tests import the handler here, with the
deployed function's environment, and call it with real events; its boto3 calls go wherever
the standard AWS variables point (the emulator, the local endpoint).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Mapping
from types import ModuleType

from local_stack.environment import overlaid_environment
from local_stack.paths import REPO_ROOT

LAMBDA_DIR = REPO_ROOT / "lambda"


def import_handler(environment: Mapping[str, str] | None = None) -> ModuleType:
    """``lambda_function`` imported afresh: its configuration and clients are read from the
    environment at import, once per container, as in Lambda. ``environment`` is laid over
    this process's for the import only."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))  # the function's folder is its import root
    # A new container: no log handler bound to an earlier import's stream.
    logging.getLogger("invoker").handlers.clear()
    with overlaid_environment(environment or {}):
        import lambda_function

        return importlib.reload(lambda_function)
