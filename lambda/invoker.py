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

MAX_TOP_K = 133
DEFAULT_TOP_K = 5
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SOURCES = ("image", "s3_uri", "url")
# The endpoint's limits (ml/inference.py), checked here from the image's header, before an
# invocation is paid for. A contract test keeps the two in step.
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_ASPECT_RATIO = 10
# InvokeEndpoint accepts bodies up to 6291456 bytes; the image travels base64-encoded in JSON
# (4/3 of its size plus a few bytes), so 4.5 MB is the largest image that fits.
MAX_INVOKE_BODY_BYTES = 6291456
DEFAULT_MAX_IMAGE_BYTES = 4_500_000
# Reading s3_uri or url input: one attempt, connect included, must be done within
# INPUT_DEADLINE_SECONDS (checked between reads, see read_within), and no socket read waits
# more than INPUT_READ_TIMEOUT_SECONDS, so it overruns the deadline by one read at most.
INPUT_CONNECT_TIMEOUT_SECONDS = 2
INPUT_READ_TIMEOUT_SECONDS = 2
INPUT_DEADLINE_SECONDS = 5
INPUT_FETCH_SECONDS = INPUT_DEADLINE_SECONDS + INPUT_READ_TIMEOUT_SECONDS
# What the function keeps for itself after the endpoint call.
SAFETY_MARGIN_SECONDS = 1
READ_CHUNK_BYTES = 64 * 1024
S3_URI = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[\x20-\x7e\x80-\U0010ffff]{1,1024})"
)
# An https URL without user info or fragment, in plain ASCII (RFC 3986 characters only).
HTTPS_URL = re.compile(
    r"https://(?P<host>[A-Za-z0-9.-]+)(?::443)?"
    r"(?P<rest>[/?][A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?"
)
QUERY_TOP_K = re.compile(r"[0-9]{1,3}")
# JPEG frame headers (SOF0..SOF15 but DHT, JPG and DAC) carry the image's size.
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class ApiError(Exception):
    """An answer other than success: HTTP status, a stable code and a message for the caller,
    and a detail for the function's log only (AWS's own messages name accounts and ARNs)."""

    def __init__(self, status: int, code: str, message: str, detail: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def too_large(message: str) -> ApiError:
    return ApiError(413, "payload_too_large", message)


@dataclass(frozen=True)
class Config:
    endpoint_name: str
    model_version: str = ""
    input_bucket: str = ""
    input_prefix: str = ""
    url_allowlist: frozenset[str] = frozenset()
    cors_allow_origin: str = ""
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    function_timeout_seconds: float = 29
    invoke_timeout_seconds: float = 8
    invoke_attempts: int = 2
    connect_timeout_seconds: float = 2

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
            max_image_bytes=int(env.get("MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES)),
            function_timeout_seconds=float(env.get("FUNCTION_TIMEOUT_SECONDS", 29)),
            invoke_timeout_seconds=float(env.get("INVOKE_TIMEOUT_SECONDS", 8)),
            invoke_attempts=int(env.get("INVOKE_ATTEMPTS", 2)),
        )

    def problems(self) -> list[str]:
        """What makes this configuration unable to answer every request in time and size."""
        found = []
        if not self.endpoint_name:
            found.append("ENDPOINT_NAME is not set")
        if self.invoke_attempts < 1:
            found.append("INVOKE_ATTEMPTS must be at least 1")
        worst = (
            INPUT_FETCH_SECONDS
            + self.invoke_attempts * (self.connect_timeout_seconds + self.invoke_timeout_seconds)
            + SAFETY_MARGIN_SECONDS
        )
        if worst > self.function_timeout_seconds:
            found.append(
                f"the worst case takes {worst:g} s (input {INPUT_FETCH_SECONDS} s + "
                f"{self.invoke_attempts} attempts x ({self.connect_timeout_seconds:g} s connect + "
                f"{self.invoke_timeout_seconds:g} s read) + {SAFETY_MARGIN_SECONDS} s), more than "
                f"the function timeout of {self.function_timeout_seconds:g} s"
            )
        if self.max_image_bytes > DEFAULT_MAX_IMAGE_BYTES:
            found.append(
                f"MAX_IMAGE_BYTES {self.max_image_bytes} does not fit InvokeEndpoint's "
                f"{MAX_INVOKE_BODY_BYTES}-byte body once base64-encoded (at most "
                f"{DEFAULT_MAX_IMAGE_BYTES})"
            )
        return found


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
    headers = event.get("headers")
    if headers is None:
        return ""
    if not isinstance(headers, dict):
        raise bad_request("the event's headers must be an object")
    return next((str(v) for k, v in headers.items() if str(k).lower() == name), "")


def parse_json(raw: bytes | str, what: str):
    """JSON as Python parses it, where every way it can fail is the caller's 400: bad syntax,
    nesting deeper than the parser's recursion limit, integers over 4300 digits."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)[:200]
        raise bad_request(f"{what} is not valid JSON: {reason}") from None


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
        raise too_large("the request body is too large")
    payload = parse_json(raw, "the request body")
    if not isinstance(payload, dict):
        raise bad_request("the request body must be a JSON object")
    return payload


def _query_top_k(event: dict):
    params = event.get("queryStringParameters") or {}
    value = params.get("top_k") if isinstance(params, dict) else None
    if value is None:
        return DEFAULT_TOP_K
    if not (isinstance(value, str) and QUERY_TOP_K.fullmatch(value)):
        raise bad_request(f"top_k must be an integer between 1 and {MAX_TOP_K}")
    return int(value)


def image_type(data: bytes) -> str:
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(PNG_MAGIC):
        return "image/png"
    raise ApiError(415, "unsupported_media_type", "the image must be a JPEG or PNG")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first frame header, walking the marker segments."""
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            raise bad_request("the JPEG is damaged: a marker is missing where one belongs")
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            index += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            break
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        if length < 2:
            raise bad_request("the JPEG is damaged: a segment has an impossible length")
        if marker in JPEG_FRAME_MARKERS and index + 9 <= len(data):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + length
    raise bad_request("the JPEG has no frame header: it is not a complete image")


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk or a JPEG's frame header, without decoding."""
    if image_type(data) == "image/png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise bad_request("the PNG is damaged: it does not start with its IHDR header")
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return _jpeg_size(data)


def check_image(data: bytes, config: Config, what: str = "image") -> bytes:
    """Size, type and pixel dimensions within the endpoint's limits, from the header alone."""
    if not data:
        raise bad_request(f"{what} is empty")
    if len(data) > config.max_image_bytes:
        raise too_large(f"{what} is {len(data)} bytes; the limit is {config.max_image_bytes}")
    width, height = image_size(data)
    if not width or not height:
        raise bad_request(f"{what} claims a size of {width}x{height} pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise too_large(
            f"{what} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels"
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise bad_request(
            f"{what} is {width}x{height} pixels; sides more than {MAX_ASPECT_RATIO} times apart "
            "are refused"
        )
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
            raise too_large(f"image is larger than the limit of {config.max_image_bytes} bytes")
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
    """An object under the function's input prefix. The messages never name the bucket: the
    caller learns no more of the account than it sent."""
    if not config.input_bucket:
        raise bad_request("s3_uri input is disabled on this function")
    match = S3_URI.fullmatch(uri)
    if (
        not match
        or match["bucket"] != config.input_bucket
        or not match["key"].startswith(config.input_prefix)
        or any(part in ("..", ".") for part in match["key"].split("/"))
    ):
        raise bad_request("s3_uri must name an object under the function's input prefix")
    return match["bucket"], match["key"]


def check_url(url: str, config: Config) -> str:
    """https on an allowed host (port 443), plain ASCII, no user info or fragment. The message
    does not list the allowed hosts."""
    if not config.url_allowlist:
        raise bad_request("url input is disabled on this function")
    match = HTTPS_URL.fullmatch(url)
    if not match or match["host"].lower() not in config.url_allowlist:
        raise bad_request("url must be an https URL on a host this function allows")
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


# What the caller is told for each answer code that is not the model's own: AWS's message
# (which can name the account, the role or the endpoint's ARN) goes to the log only.
ENDPOINT_MESSAGES = {
    "throttled": "the endpoint is busy; retry with backoff",
    "unavailable": "the endpoint is not ready; retry shortly",
    "endpoint_error": "the endpoint failed to answer",
    "misconfigured": "the function cannot call its endpoint; its log has the details",
}


def endpoint_error(error_response: dict) -> ApiError:
    """Map a botocore ClientError response from InvokeEndpoint to the caller's answer."""
    code = error_response.get("Error", {}).get("Code", "")
    message = error_response.get("Error", {}).get("Message", "") or code
    if code == "ModelError":
        original_status = error_response.get("OriginalStatusCode")
        detail = model_message(error_response.get("OriginalMessage") or "") or "no message"
        if original_status in MODEL_INPUT_STATUSES:
            return ApiError(original_status, MODEL_INPUT_STATUSES[original_status], detail)
        return ApiError(502, "model_error", f"the model failed: {detail}")
    status, api_code = ENDPOINT_ERRORS.get(code, (502, "endpoint_error"))
    return ApiError(status, api_code, ENDPOINT_MESSAGES[api_code], f"{code}: {message}")


def read_within(read, limit: int, deadline: float, clock, what: str) -> bytes:
    """Up to ``limit`` + 1 bytes from ``read(n)`` calls, until it returns b"": ``clock()``
    must stay before ``deadline`` between the calls, or the caller gets a 504."""
    chunks, size = [], 0
    while size <= limit:
        if clock() > deadline:
            raise ApiError(
                504, "input_timeout", f"{what} took longer than {INPUT_DEADLINE_SECONDS} s to read"
            )
        chunk = read(min(READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def response(status: int, body: dict, config: Config) -> dict:
    headers = {"Content-Type": "application/json"}
    if config.cors_allow_origin:
        headers["Access-Control-Allow-Origin"] = config.cors_allow_origin
        headers["Vary"] = "Origin"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def error_response(error: ApiError, config: Config) -> dict:
    return response(error.status, {"error": {"code": error.code, "message": error.message}}, config)
