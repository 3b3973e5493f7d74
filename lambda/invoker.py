"""Pure request/response logic of the endpoint invoker, testable without AWS.

The handler in ``lambda_function.py`` wires these functions to boto3. Nothing here performs
I/O: parsing and validation of the event, the request sent to the endpoint, the mapping of
endpoint answers and errors to HTTP statuses, and the response shape.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_TOP_K = 133
DEFAULT_TOP_K = 5
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f]+)$")
SOURCES = ("image", "s3_uri", "url")


class ApiError(Exception):
    """An answer other than success: HTTP status, a stable code and a message for the caller."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


@dataclass(frozen=True)
class Config:
    endpoint_name: str
    model_version: str = ""
    input_bucket: str = ""
    input_prefix: str = ""
    url_allowlist: frozenset[str] = frozenset()
    cors_allow_origin: str = ""
    max_image_bytes: int = 5 * 1024 * 1024

    @classmethod
    def from_env(cls, env) -> Config:
        hosts = {h.strip().lower() for h in env.get("URL_ALLOWLIST", "").split(",") if h.strip()}
        return cls(
            endpoint_name=env.get("ENDPOINT_NAME", ""),
            model_version=env.get("MODEL_VERSION", ""),
            input_bucket=env.get("INPUT_BUCKET", ""),
            input_prefix=env.get("INPUT_PREFIX", ""),
            url_allowlist=frozenset(hosts),
            cors_allow_origin=env.get("CORS_ALLOW_ORIGIN", ""),
            max_image_bytes=int(env.get("MAX_IMAGE_BYTES", 5 * 1024 * 1024)),
        )


@dataclass(frozen=True)
class Request:
    """A validated request: exactly one image source, and how many breeds to return."""

    source: str  # "image", "s3_uri" or "url"
    top_k: int
    image: bytes = b""
    bucket: str = ""
    key: str = ""
    url: str = ""


def is_http_event(event: dict) -> bool:
    """API Gateway (REST or HTTP API) and function URL events wrap the request in ``body``."""
    return "body" in event and any(k in event for k in ("requestContext", "httpMethod", "version"))


def _header(event: dict, name: str) -> str:
    headers = event.get("headers") or {}
    return next((str(v) for k, v in headers.items() if str(k).lower() == name), "")


def payload_of(event, config: Config) -> dict:
    """The request object, from an HTTP event's body or a direct invocation's event."""
    if not isinstance(event, dict):
        raise bad_request("the event must be a JSON object")
    if not is_http_event(event):
        return event
    body = event.get("body")
    if body is None or body == "":
        raise bad_request('the request body is empty; send JSON like {"image": "<base64>"}')
    if not isinstance(body, str):
        raise bad_request("the request body must be a string")
    raw = body.encode("utf-8", errors="surrogatepass")
    if event.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise bad_request("the body is marked base64 but is not valid base64") from error
    content_type = _header(event, "content-type").split(";")[0].strip().lower()
    if content_type.startswith("image/"):
        # A raw image upload (function URL or binary media type): the body is the image.
        return {"image": base64.b64encode(raw).decode(), "top_k": _query_top_k(event)}
    if len(raw) > config.max_image_bytes * 4 // 3 + 4096:
        raise ApiError(413, "payload_too_large", "the request body is too large")
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad_request(f"the request body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise bad_request("the request body must be a JSON object")
    return payload


def _query_top_k(event: dict):
    params = event.get("queryStringParameters") or {}
    value = params.get("top_k") if isinstance(params, dict) else None
    if value is None:
        return DEFAULT_TOP_K
    if not (isinstance(value, str) and value.isdigit()):
        raise bad_request("top_k must be an integer between 1 and 133")
    return int(value)


def image_type(data: bytes) -> str:
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(PNG_MAGIC):
        return "image/png"
    raise ApiError(415, "unsupported_media_type", "the image must be a JPEG or PNG")


def check_image(data: bytes, config: Config, what: str = "image") -> bytes:
    if not data:
        raise bad_request(f"{what} is empty")
    if len(data) > config.max_image_bytes:
        raise ApiError(
            413,
            "payload_too_large",
            f"{what} is {len(data)} bytes; the limit is {config.max_image_bytes}",
        )
    image_type(data)
    return data


def parse_top_k(payload: dict) -> int:
    top_k = payload.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise bad_request(f"top_k must be an integer between 1 and {MAX_TOP_K}")
    return top_k


def parse_request(event, config: Config) -> Request:
    payload = payload_of(event, config)
    present = [name for name in SOURCES if name in payload]
    if len(present) != 1:
        raise bad_request("send exactly one of image (base64), s3_uri or url")
    source = present[0]
    top_k = parse_top_k(payload)
    value = payload[source]
    if not isinstance(value, str) or not value:
        raise bad_request(f"{source} must be a non-empty string")
    if source == "image":
        if len(value) > config.max_image_bytes * 4 // 3 + 4:
            raise ApiError(
                413,
                "payload_too_large",
                f"image is larger than the limit of {config.max_image_bytes} bytes",
            )
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise bad_request("image is not valid base64") from error
        return Request("image", top_k, image=check_image(data, config))
    if source == "s3_uri":
        bucket, key = check_s3_uri(value, config)
        return Request("s3_uri", top_k, bucket=bucket, key=key)
    return Request("url", top_k, url=check_url(value, config))


def check_s3_uri(uri: str, config: Config) -> tuple[str, str]:
    if not config.input_bucket:
        raise bad_request("s3_uri input is disabled on this function")
    match = S3_URI.match(uri)
    allowed = f"s3://{config.input_bucket}/{config.input_prefix}"
    if (
        not match
        or match["bucket"] != config.input_bucket
        or not match["key"].startswith(config.input_prefix)
        or any(part in ("..", ".") for part in match["key"].split("/"))
    ):
        raise bad_request(f"s3_uri must be an object under {allowed}")
    return match["bucket"], match["key"]


def check_url(url: str, config: Config) -> str:
    if not config.url_allowlist:
        raise bad_request("url input is disabled on this function")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise bad_request("url is not a valid URL") from error
    host = (parts.hostname or "").lower()
    if (
        parts.scheme != "https"
        or parts.username
        or parts.password
        or port not in (None, 443)
        or host not in config.url_allowlist
    ):
        raise bad_request(
            "url must be https on an allowed host: " + ", ".join(sorted(config.url_allowlist))
        )
    return url


def endpoint_body(request: Request, image: bytes) -> bytes:
    """The JSON request the endpoint's ``input_fn`` understands."""
    return json.dumps({"image": base64.b64encode(image).decode(), "top_k": request.top_k}).encode()


def predictions_of(endpoint_answer: bytes, top_k: int) -> list[dict]:
    try:
        predictions = json.loads(endpoint_answer)["predictions"]
        return [
            {"breed": p["breed"], "index": p["index"], "probability": p["probability"]}
            for p in predictions[:top_k]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise ApiError(
            502, "model_error", "the endpoint answered with an unexpected body"
        ) from error


# InvokeEndpoint error codes -> (status, code) for the caller.
ENDPOINT_ERRORS = {
    "ThrottlingException": (429, "throttled"),
    "TooManyRequestsException": (429, "throttled"),
    "ServiceUnavailable": (503, "unavailable"),
    "ModelNotReadyException": (503, "unavailable"),
    "InternalFailure": (502, "endpoint_error"),
    "InternalDependencyException": (502, "endpoint_error"),
    "ValidationError": (500, "misconfigured"),
    "AccessDeniedException": (500, "misconfigured"),
}
# What the model itself said about the input (OriginalStatusCode) is passed on as is.
MODEL_INPUT_STATUSES = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type"}


def model_message(original: str) -> str:
    """The model's own message: ``error.message`` of its JSON error body, or the first line of
    another body (a serving toolkit appends a traceback to a raised error's message)."""
    try:
        return str(json.loads(original)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        lines = original.splitlines()
        return lines[0] if lines else ""


def endpoint_error(error_response: dict) -> ApiError:
    """Map a botocore ClientError response from InvokeEndpoint to the caller's answer."""
    code = error_response.get("Error", {}).get("Code", "")
    message = error_response.get("Error", {}).get("Message", "") or code
    if code == "ModelError":
        original_status = error_response.get("OriginalStatusCode")
        detail = model_message(error_response.get("OriginalMessage") or "") or message
        if original_status in MODEL_INPUT_STATUSES:
            return ApiError(original_status, MODEL_INPUT_STATUSES[original_status], detail)
        return ApiError(502, "model_error", f"the model failed: {detail}")
    status, api_code = ENDPOINT_ERRORS.get(code, (502, "endpoint_error"))
    if api_code == "misconfigured":
        return ApiError(500, api_code, f"the function is misconfigured: {message}")
    return ApiError(status, api_code, message)


def response(status: int, body: dict, config: Config) -> dict:
    headers = {"Content-Type": "application/json"}
    if config.cors_allow_origin:
        headers["Access-Control-Allow-Origin"] = config.cors_allow_origin
        headers["Vary"] = "Origin"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def error_response(error: ApiError, config: Config) -> dict:
    return response(error.status, {"error": {"code": error.code, "message": error.message}}, config)
