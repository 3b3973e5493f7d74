"""Every answer is JSON, with the configured CORS header."""

from __future__ import annotations

import json

import pytest

from invoker import responses
from invoker.config import Config
from invoker.errors import bad_request, too_large

pytestmark = pytest.mark.unit

CONFIG = Config(endpoint_name="dog-breeds", cors_allow_origin="https://app.example.com")


def test_responses_are_json_with_configured_cors():
    response = responses.error_response(bad_request("nope"), CONFIG)
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert json.loads(response["body"]) == {"error": {"code": "bad_request", "message": "nope"}}
    no_cors = responses.response(200, {}, Config(endpoint_name="e"))
    assert "Access-Control-Allow-Origin" not in no_cors["headers"]


def test_each_error_carries_its_status_and_code():
    response = responses.error_response(too_large("too big"), CONFIG)
    assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (
        413,
        "payload_too_large",
    )
