"""The Lambda function (lambda/) run in this process, as a fresh Lambda container runs it.

moto never runs Lambda code, so the demo and the tests import the handler here, with the
deployed function's environment, and call it with real events; its boto3 calls go wherever
the standard AWS variables point (the emulator, the local endpoint).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"


def import_handler() -> ModuleType:
    """``lambda_function`` imported afresh: its configuration and clients are read from the
    environment at import, once per container, as in Lambda."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))  # the function's folder is its import root
    # A new container: no log handler bound to an earlier import's stream.
    logging.getLogger("invoker").handlers.clear()
    import lambda_function

    return importlib.reload(lambda_function)
