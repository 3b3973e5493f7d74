"""The Lambda's folder is its own import root (as in the deployed zip)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from local_stack.serving.lambda_runtime import LAMBDA_DIR, import_handler

if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))

BASE_ENV = {
    "AWS_REGION": "us-east-1",  # both are always set by the Lambda runtime
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",  # the runtime exports the role's credentials; these are fake
    "AWS_SECRET_ACCESS_KEY": "test",
    "ENDPOINT_NAME": "dog-breeds",
    "MODEL_VERSION": "models/run-1/model.tar.gz",
    "INPUT_BUCKET": "dog-breeds-data",
    "INPUT_PREFIX": "inference-input/",
    "URL_ALLOWLIST": "images.example.com",
    "CORS_ALLOW_ORIGIN": "https://app.example.com",
}


@pytest.fixture
def load_handler(monkeypatch):
    """Import lambda_function afresh with the given environment (config is read at import,
    once per container, as in Lambda)."""

    def load(**env: str):
        for name, value in {**BASE_ENV, **env}.items():
            monkeypatch.setenv(name, value)
        return import_handler()

    return load


@pytest.fixture
def context():
    """The attributes of the Lambda context object that the handler reads."""
    return SimpleNamespace(aws_request_id="req-0001", function_name="dog-breed-invoker")
