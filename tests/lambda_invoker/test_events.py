"""Events unwrapped and validated into requests: direct invocations, API Gateway and
function URL events, the fixtures under events/, and hostile events as clear 4xx answers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from invoker.config import Config
from invoker.errors import ApiError
from invoker.events import DEFAULT_TOP_K, parse_request
from tests.images import TINY_JPEG, TINY_PNG

pytestmark = pytest.mark.unit

CONFIG = Config(
    endpoint_name="dog-breeds",
    input_bucket="data-bucket",
    input_prefix="inference-input/",
    url_allowlist=frozenset({"images.example.com"}),
    cors_allow_origin="https://app.example.com",
    max_image_bytes=1024,
)
JPEG = TINY_JPEG
PNG = TINY_PNG
S3_MESSAGE = "s3_uri must name an object under the function's input prefix"
URL_MESSAGE = "url must be an https URL on a host this function allows"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def api_error(call) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def test_direct_invoke_with_base64_image():
    request = parse_request({"image": b64(JPEG), "top_k": 3}, CONFIG)
    assert (request.source, request.image, request.top_k) == ("image", JPEG, 3)


def test_api_gateway_proxy_event():
    event = {
        "httpMethod": "POST",
        "requestContext": {},
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"image": b64(PNG)}),
    }
    request = parse_request(event, CONFIG)
    assert request.image == PNG
    assert request.top_k == DEFAULT_TOP_K


def test_function_url_event_with_a_raw_image_body():
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"content-type": "image/jpeg"},
        "isBase64Encoded": True,
        "body": b64(JPEG),
        "queryStringParameters": {"top_k": "2"},
    }
    request = parse_request(event, CONFIG)
    assert (request.image, request.top_k) == (JPEG, 2)


def test_function_url_event_with_base64_json_body():
    event = {
        "version": "2.0",
        "requestContext": {},
        "isBase64Encoded": True,
        "headers": {"content-type": "application/json"},
        "body": b64(json.dumps({"image": b64(JPEG)}).encode()),
    }
    assert parse_request(event, CONFIG).image == JPEG


def test_s3_uri_under_the_configured_prefix():
    request = parse_request({"s3_uri": "s3://data-bucket/inference-input/a/b.jpg"}, CONFIG)
    assert (request.bucket, request.key) == ("data-bucket", "inference-input/a/b.jpg")


def test_allowlisted_https_url():
    url = "https://images.example.com/dogs/1.jpg"
    assert parse_request({"url": url}, CONFIG).url == url


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({}, 400, "exactly one of image (base64), s3_uri or url"),
        ({"image": b64(JPEG), "url": "https://images.example.com/x"}, 400, "exactly one of"),
        ({"image": 5}, 400, "image must be a non-empty string"),
        ({"image": ""}, 400, "image must be a non-empty string"),
        ({"image": "%%%"}, 400, "image is not valid base64"),
        ({"image": b64(b"GIF89a....")}, 415, "send a JPEG, PNG, WebP or AVIF photo"),
        ({"image": b64(JPEG + b"\x00" * 2000)}, 413, "larger than the limit of 1024 bytes"),
        ({"image": b64(JPEG + b"\x00" * (1025 - len(JPEG)))}, 413, "1025 bytes; the limit is 1024"),
        ({"image": b64(JPEG), "top_k": 0}, 400, "top_k must be an integer between 1 and 133"),
        ({"image": b64(JPEG), "top_k": 134}, 400, "top_k must be an integer"),
        ({"image": b64(JPEG), "top_k": "5"}, 400, "top_k must be an integer"),
        ({"image": b64(JPEG), "top_k": True}, 400, "top_k must be an integer"),
        ({"s3_uri": "s3://other-bucket/inference-input/x.jpg"}, 400, S3_MESSAGE),
        ({"s3_uri": "s3://data-bucket/data/train/x.jpg"}, 400, S3_MESSAGE),
        ({"s3_uri": "s3://data-bucket/inference-input/../data/x.jpg"}, 400, S3_MESSAGE),
        ({"s3_uri": "https://data-bucket/inference-input/x.jpg"}, 400, S3_MESSAGE),
        ({"s3_uri": "s3://data-bucket/inference-input/x.jpg\n"}, 400, S3_MESSAGE),
        ({"s3_uri": "s3://data-bucket/inference-input/x\x00.jpg"}, 400, S3_MESSAGE),
        ({"s3_uri": "s3://data-bucket/inference-input/" + "k" * 1100}, 400, S3_MESSAGE),
        ({"url": "http://images.example.com/x.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://evil.example.com/x.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://images.example.com@evil.com/x.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://user:pw@images.example.com/x.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://@images.example.com/x.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://images.example.com:8443/x.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://[::1/x"}, 400, URL_MESSAGE),
        ({"url": "https://169.254.169.254/latest/meta-data"}, 400, URL_MESSAGE),
        ({"url": "https://images.example.com/a dog.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://images.example.com/x.jpg\n"}, 400, URL_MESSAGE),
        ({"url": "https://images.example.com/\u00e9.jpg"}, 400, URL_MESSAGE),
        ({"url": "https://images.example.com/x.jpg#frag"}, 400, URL_MESSAGE),
    ],
)
def test_invalid_payloads(payload, status, message):
    error = api_error(lambda: parse_request(payload, CONFIG))
    assert error.status == status
    assert message in error.message
    # Configuration stays out of answers: no bucket name, no allowlist.
    assert "data-bucket" not in error.message or "data-bucket" in json.dumps(payload)
    assert "images.example.com" not in error.message


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("just a string", "the event must be a JSON object"),
        ({"httpMethod": "POST", "body": None}, "the request body is empty"),
        ({"httpMethod": "POST", "body": "{oops"}, "not valid JSON"),
        ({"httpMethod": "POST", "body": "[1]"}, "must be a JSON object"),
        ({"httpMethod": "POST", "body": {"image": "x"}}, "the request body must be a string"),
        ({"version": "2.0", "body": "@@", "isBase64Encoded": True}, "not valid base64"),
    ],
)
def test_invalid_http_events(event, message):
    error = api_error(lambda: parse_request(event, CONFIG))
    assert error.status == 400
    assert message in error.message


def test_disabled_inputs_say_so():
    closed = Config(endpoint_name="e")
    assert (
        "s3_uri input is disabled"
        in api_error(lambda: parse_request({"s3_uri": "s3://b/k"}, closed)).message
    )
    assert (
        "url input is disabled"
        in api_error(lambda: parse_request({"url": "https://x/y"}, closed)).message
    )


EVENTS = Path(__file__).parent / "events"


def event_fixture(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_api_gateway_proxy_event_fixture():
    request = parse_request(event_fixture("api_gateway_proxy.json"), CONFIG)
    assert (request.source, request.top_k) == ("image", 3)
    assert request.image.startswith(b"\xff\xd8\xff")


def test_function_url_raw_image_event_fixture():
    request = parse_request(event_fixture("function_url_image.json"), CONFIG)
    assert (request.source, request.top_k) == ("image", 2)
    assert request.image.startswith(b"\x89PNG")


def test_direct_invoke_event_fixture():
    request = parse_request(
        event_fixture("direct_invoke.json"),
        Config(endpoint_name="e", input_bucket="dog-breeds-data", input_prefix="inference-input/"),
    )
    assert (request.bucket, request.key, request.top_k) == (
        "dog-breeds-data",
        "inference-input/dog.jpg",
        5,
    )


def http_event(body: str, **extra) -> dict:
    return {"version": "2.0", "requestContext": {}, "body": body, **extra}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (http_event("[" * 2_500 + "]" * 2_500), "not valid JSON: it nests too deeply"),
        (http_event('{"image": "x", "top_k": 1' + "0" * 5000 + "}"), "not valid JSON"),
        (http_event("{}", headers=["content-type", "image/jpeg"]), "headers must be an object"),
        (http_event("{}", headers="content-type: image/jpeg"), "headers must be an object"),
        *(
            (
                http_event(
                    b64(JPEG),
                    headers={"content-type": "image/jpeg"},
                    isBase64Encoded=True,
                    queryStringParameters={"top_k": top_k},
                ),
                "top_k must be an integer between 1 and 133",
            )
            for top_k in ("\uff13", "\u00b2", "\u0663", "1" * 5000, "-1", " 3", "3.0")
        ),
    ],
)
def test_hostile_http_events_are_a_clear_400(event, message):
    error = api_error(lambda: parse_request(event, CONFIG))
    assert error.status == 400
    assert message in error.message
