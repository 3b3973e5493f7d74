"""Pure functions of the invoker: parsing, validation, endpoint request and response mapping."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import invoker
from tests.images import TINY_JPEG, TINY_PNG

pytestmark = pytest.mark.unit

CONFIG = invoker.Config(
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


def api_error(call) -> invoker.ApiError:
    with pytest.raises(invoker.ApiError) as raised:
        call()
    return raised.value


def test_direct_invoke_with_base64_image():
    request = invoker.parse_request({"image": b64(JPEG), "top_k": 3}, CONFIG)
    assert (request.source, request.image, request.top_k) == ("image", JPEG, 3)


def test_api_gateway_proxy_event():
    event = {
        "httpMethod": "POST",
        "requestContext": {},
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"image": b64(PNG)}),
    }
    request = invoker.parse_request(event, CONFIG)
    assert request.image == PNG
    assert request.top_k == invoker.DEFAULT_TOP_K


def test_function_url_event_with_a_raw_image_body():
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"content-type": "image/jpeg"},
        "isBase64Encoded": True,
        "body": b64(JPEG),
        "queryStringParameters": {"top_k": "2"},
    }
    request = invoker.parse_request(event, CONFIG)
    assert (request.image, request.top_k) == (JPEG, 2)


def test_function_url_event_with_base64_json_body():
    event = {
        "version": "2.0",
        "requestContext": {},
        "isBase64Encoded": True,
        "headers": {"content-type": "application/json"},
        "body": b64(json.dumps({"image": b64(JPEG)}).encode()),
    }
    assert invoker.parse_request(event, CONFIG).image == JPEG


def test_s3_uri_under_the_configured_prefix():
    request = invoker.parse_request({"s3_uri": "s3://data-bucket/inference-input/a/b.jpg"}, CONFIG)
    assert (request.bucket, request.key) == ("data-bucket", "inference-input/a/b.jpg")


def test_allowlisted_https_url():
    url = "https://images.example.com/dogs/1.jpg"
    assert invoker.parse_request({"url": url}, CONFIG).url == url


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({}, 400, "exactly one of image (base64), s3_uri or url"),
        ({"image": b64(JPEG), "url": "https://images.example.com/x"}, 400, "exactly one of"),
        ({"image": 5}, 400, "image must be a non-empty string"),
        ({"image": ""}, 400, "image must be a non-empty string"),
        ({"image": "%%%"}, 400, "image is not valid base64"),
        ({"image": b64(b"GIF89a....")}, 415, "the image must be a JPEG or PNG"),
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
    error = api_error(lambda: invoker.parse_request(payload, CONFIG))
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
    error = api_error(lambda: invoker.parse_request(event, CONFIG))
    assert error.status == 400
    assert message in error.message


def test_disabled_inputs_say_so():
    closed = invoker.Config(endpoint_name="e")
    assert (
        "s3_uri input is disabled"
        in api_error(lambda: invoker.parse_request({"s3_uri": "s3://b/k"}, closed)).message
    )
    assert (
        "url input is disabled"
        in api_error(lambda: invoker.parse_request({"url": "https://x/y"}, closed)).message
    )


def test_config_from_env():
    config = invoker.Config.from_env({"ENDPOINT_NAME": "e", "URL_ALLOWLIST": " A.com, b.com ,"})
    assert config.url_allowlist == {"a.com", "b.com"}
    assert config.cors_allow_origin == ""


def test_endpoint_body_carries_image_and_top_k():
    request = invoker.Request("image", 3, image=JPEG)
    body = json.loads(invoker.endpoint_body(request, JPEG))
    assert body == {"image": b64(JPEG), "top_k": 3}


def test_predictions_are_trimmed_to_top_k():
    answer = json.dumps(
        {
            "predictions": [
                {"breed": "Akita", "index": 3, "probability": 0.9},
                {"breed": "Boxer", "index": 33, "probability": 0.1},
            ]
        }
    )
    assert invoker.predictions_of(answer.encode(), 1) == [
        {"breed": "Akita", "index": 3, "probability": 0.9}
    ]
    assert api_error(lambda: invoker.predictions_of(b"[1,2]", 1)).status == 502


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (
            {
                "Error": {"Code": "ModelError", "Message": "x"},
                "OriginalStatusCode": 400,
                "OriginalMessage": "request body is not an image\nTraceback...",
            },
            400,
            "bad_request",
        ),
        (
            {"Error": {"Code": "ModelError"}, "OriginalStatusCode": 415, "OriginalMessage": "no"},
            415,
            "unsupported_media_type",
        ),
        (
            {
                "Error": {"Code": "ModelError"},
                "OriginalStatusCode": 413,
                "OriginalMessage": json.dumps(
                    {"error": {"code": "payload_too_large", "message": "33 images"}}
                ),
            },
            413,
            "payload_too_large",
        ),
        (
            {"Error": {"Code": "ModelError"}, "OriginalStatusCode": 500, "OriginalMessage": "boom"},
            502,
            "model_error",
        ),
        ({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, 429, "throttled"),
        ({"Error": {"Code": "ServiceUnavailable"}}, 503, "unavailable"),
        ({"Error": {"Code": "ModelNotReadyException"}}, 503, "unavailable"),
        (
            {"Error": {"Code": "ValidationError", "Message": "Endpoint x not found"}},
            500,
            "misconfigured",
        ),
        ({"Error": {"Code": "AccessDeniedException"}}, 500, "misconfigured"),
        ({"Error": {"Code": "InternalFailure"}}, 502, "endpoint_error"),
        ({"Error": {"Code": "SomethingNew"}}, 502, "endpoint_error"),
    ],
)
def test_endpoint_errors_map_to_honest_statuses(error, status, code):
    mapped = invoker.endpoint_error(error)
    assert (mapped.status, mapped.code) == (status, code)
    assert "Traceback" not in mapped.message
    assert "{" not in mapped.message  # the model's message, not its JSON body


def test_responses_are_json_with_configured_cors():
    response = invoker.error_response(invoker.bad_request("nope"), CONFIG)
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert json.loads(response["body"]) == {"error": {"code": "bad_request", "message": "nope"}}
    no_cors = invoker.response(200, {}, invoker.Config(endpoint_name="e"))
    assert "Access-Control-Allow-Origin" not in no_cors["headers"]


EVENTS = Path(__file__).parent / "events"


def event_fixture(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_api_gateway_proxy_event_fixture():
    request = invoker.parse_request(event_fixture("api_gateway_proxy.json"), CONFIG)
    assert (request.source, request.top_k) == ("image", 3)
    assert request.image.startswith(b"\xff\xd8\xff")


def test_function_url_raw_image_event_fixture():
    request = invoker.parse_request(event_fixture("function_url_image.json"), CONFIG)
    assert (request.source, request.top_k) == ("image", 2)
    assert request.image.startswith(b"\x89PNG")


def test_direct_invoke_event_fixture():
    request = invoker.parse_request(
        event_fixture("direct_invoke.json"),
        invoker.Config(
            endpoint_name="e", input_bucket="dog-breeds-data", input_prefix="inference-input/"
        ),
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
    error = api_error(lambda: invoker.parse_request(event, CONFIG))
    assert error.status == 400
    assert message in error.message


def png_claiming(width: int, height: int) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + ihdr + b"\x00" * 4


@pytest.mark.parametrize(
    ("width", "height", "format_"),
    [(8, 8, "JPEG"), (640, 480, "JPEG"), (3, 31, "PNG"), (1000, 100, "PNG")],
)
def test_image_size_comes_from_the_header(width, height, format_):
    from tests.images import generated

    assert invoker.image_size(generated(width, height, format_)) == (width, height)


def test_a_progressive_jpeg_header_is_read_too():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buffer, format="JPEG", progressive=True)
    assert invoker.image_size(buffer.getvalue()) == (300, 200)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (png_claiming(16, 1_048_576), 400, "16x1048576 pixels; sides more than 10 times apart"),
        (png_claiming(5000, 4000), 413, "5000x4000 pixels; the limit is 16777216 pixels"),
        (png_claiming(0, 10), 400, "claims a size of 0x10 pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, 400, "does not start with its IHDR header"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 30, 400, "impossible length"),
        (b"\xff\xd8\xff\xd9", 400, "no frame header"),
        (b"\xff\xd8\xff\xe0\x00\x04abGARBAGE", 400, "a marker is missing"),
    ],
)
def test_images_over_the_endpoints_limits_are_refused_from_the_header(data, status, message):
    config = invoker.Config(endpoint_name="e")
    error = api_error(lambda: invoker.check_image(data, config))
    assert (error.status, message in error.message) == (status, True), error.message


def test_the_worst_case_time_must_fit_the_function_timeout():
    assert invoker.Config(endpoint_name="e").problems() == []
    slow = invoker.Config(endpoint_name="e", invoke_timeout_seconds=20, invoke_attempts=2)
    (problem,) = slow.problems()
    assert "the worst case takes 52 s" in problem
    assert "more than the function timeout of 29 s" in problem
    too_big = invoker.Config(endpoint_name="e", max_image_bytes=5_000_000)
    assert "does not fit InvokeEndpoint's 6291456-byte body" in too_big.problems()[0]


def test_the_largest_image_fits_invoke_endpoints_body_limit():
    image = JPEG + b"\x00" * (invoker.DEFAULT_MAX_IMAGE_BYTES - len(JPEG))
    body = invoker.endpoint_body(invoker.Request("image", 133, image=image), image)
    assert len(body) <= invoker.MAX_INVOKE_BODY_BYTES
