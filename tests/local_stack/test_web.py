"""local_stack.serving.page without a browser: the HTTP API events it builds, its limits, and
hostile requests to POST /classify through the real Lambda handler (its endpoint unreachable)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.http_api import MAX_HTTP_API_BYTES, http_api_event
from local_stack.serving.page import WEB_DIR, create_app, local_handler

pytestmark = pytest.mark.unit

# Lambda quotas ("Lambda quotas", Function configuration, deployment, and execution):
# a synchronous invocation's request payload is at most 6 MB, which Lambda counts as 6291456 bytes.
SYNCHRONOUS_PAYLOAD_BYTES = 6291456


@pytest.fixture(scope="module")
def client():
    handler = local_handler("http://127.0.0.1:9")  # nothing listens there
    app = create_app(handler)
    return app.test_client()


def test_a_raw_image_arrives_base64_encoded_and_json_as_text():
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256))
    event = http_api_event("/classify", "POST", [("Content-Type", "image/jpeg")], "", jpeg)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == jpeg
    event = http_api_event(
        "/classify", "POST", [("Content-Type", "application/json")], "", b'{"top_k": 2}'
    )
    assert (event["isBase64Encoded"], event["body"]) == (False, '{"top_k": 2}')


def test_repeated_headers_and_parameters_are_joined_with_commas_and_decoded():
    """API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs"
    (payload format 2.0): duplicate headers and query strings are combined with commas."""
    event = http_api_event(
        "/classify",
        "POST",
        [("X-Tag", "a"), ("x-tag", "b"), ("Content-Type", "image/png")],
        "top_k=3&top_k=4&name=dog%20photo",
        b"",
    )
    assert event["headers"] == {"x-tag": "a,b", "content-type": "image/png"}
    assert event["queryStringParameters"] == {"top_k": "3,4", "name": "dog photo"}
    assert event["rawQueryString"] == "top_k=3&top_k=4&name=dog%20photo"


def test_the_largest_image_the_lambda_takes_fits_a_synchronous_invocation():
    """An image at the Lambda's own limit, sent raw through the HTTP API, still fits the 6 MB
    synchronous payload once base64-encoded into the event: the limits are consistent."""
    from local_stack.serving.lambda_runtime import import_handler

    limit = import_handler(
        {"ENDPOINT_NAME": "e", "AWS_DEFAULT_REGION": "us-east-1"}
    ).CONFIG.max_image_bytes
    headers = [("Content-Type", "image/jpeg"), ("User-Agent", "x" * 1024)]
    event = http_api_event("/classify", "POST", headers, "top_k=5", b"\xff" * limit)
    assert len(json.dumps(event).encode()) < SYNCHRONOUS_PAYLOAD_BYTES
    assert limit * 4 / 3 <= SYNCHRONOUS_PAYLOAD_BYTES


def test_a_body_over_the_http_api_limit_gets_413_json(client):
    answer = client.post(
        "/classify", data=b"\0" * (MAX_HTTP_API_BYTES + 1), content_type="image/jpeg"
    )
    assert answer.status_code == 413
    assert answer.get_json() == {"message": "Request Entity Too Large"}


def test_the_page_its_files_and_its_api_setting_are_served(client):
    assert b"Which dog is this?" in client.get("/").data
    assert client.get("/app.js").data == (WEB_DIR / "app.js").read_bytes()
    assert client.get("/config.json").get_json() == {"apiUrl": "/classify"}


def test_without_a_handler_the_page_calls_the_configured_api():
    alone = create_app(None, "https://api.example.com/classify").test_client()
    assert alone.get("/config.json").get_json() == {"apiUrl": "https://api.example.com/classify"}
    assert alone.post("/classify", data=b"x").status_code == 405


@pytest.mark.parametrize("path", ["/../README.md", "/..%2fREADME.md", "/%2e%2e/Makefile"])
def test_nothing_outside_web_is_served(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere.html", 404, "not_found"),
        ("DELETE", "/classify", 405, "method_not_allowed"),
        ("PUT", "/", 405, "method_not_allowed"),
    ],
)
def test_an_unknown_route_or_method_is_a_json_error(client, method, path, status, code):
    answer = client.open(path, method=method)
    assert answer.status_code == status
    assert answer.content_type == "application/json"
    error = answer.get_json()["error"]
    assert error["code"] == code
    assert f"no route {method} {path}" in error["message"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=2048),
    content_type=st.sampled_from(
        ["image/jpeg", "image/png", "application/json", "text/plain", "", "multipart/form-data"]
    )
    | st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
    query=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
def test_hostile_requests_get_a_json_4xx(client, body, content_type, query):
    answer = client.post(f"/classify?{query}", data=body, headers={"Content-Type": content_type})
    assert 400 <= answer.status_code < 500, answer.data[:500]
    assert set(answer.get_json()["error"]) == {"code", "message"}
