"""The event, unwrapped and validated into a request: API Gateway (REST or HTTP API) and
function URL events carry the request in their body; a direct invocation is the request.

Every way an event can be wrong is the caller's 4xx with a clear message, never an exception
of another kind. The messages never name the configuration (bucket, allowed hosts)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from invoker.config import Config
from invoker.errors import ApiError, bad_request, too_large
from invoker.images import check_image, image_type

MAX_TOP_K = 133
DEFAULT_TOP_K = 5
SOURCES = ("image", "s3_uri", "url")
S3_URI = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[\x20-\x7e\x80-\U0010ffff]{1,1024})"
)
# An https URL without user info or fragment, in plain ASCII (RFC 3986 characters only).
HTTPS_URL = re.compile(
    r"https://(?P<host>[A-Za-z0-9.-]+)(?::443)?"
    r"(?P<rest>[/?][A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?"
)
QUERY_TOP_K = re.compile(r"[0-9]{1,3}")
JSON_TYPES = frozenset({"application/json", "text/json"})
IMAGE_TYPES = frozenset({"application/x-image", "application/octet-stream"})
ACCEPTED_TYPES_TEXT = (
    "send the photo's bytes (any image/* type or application/octet-stream) or JSON like "
    '{"image": "<base64>"}'
)
DATA_URL = re.compile(r"data:(?P<type>[^,;]*)(?P<parameters>(?:;[^,;]*)*),", re.IGNORECASE)
BASE64_TEXT = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")


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


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """``Image/JPEG; Charset="x"`` -> ``("image/jpeg", {"charset": "x"})``."""
    essence, *parameters = content_type.split(";")
    found = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        found[name.strip().lower()] = value.strip().strip('"')
    return essence.strip().lower(), found


def body_kind(content_type: str, raw: bytes) -> str:
    """``"image"`` or ``"json"``. Declared JSON is JSON, any image type or octet-stream is the
    photo; with no type or another one (a form is curl --data-binary's default), the bytes
    decide: a photo is a photo, and JSON is read as JSON."""
    essence, _ = media_type(content_type)
    if essence in JSON_TYPES:
        return "json"
    if essence.startswith("image/") or essence in IMAGE_TYPES or _is_image(raw):
        return "image"
    if not essence or raw.lstrip()[:1] in (b"{", b"["):
        return "json"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"unsupported content type {content_type[:60]!r}: {ACCEPTED_TYPES_TEXT}",
    )


def _is_image(raw: bytes) -> bool:
    try:
        image_type(raw)
    except ApiError:
        return False
    return True


def json_text(raw: bytes, content_type: str, what: str) -> str:
    """The JSON body as text: in its declared charset, else UTF-8 (RFC 8259; a UTF-8 byte
    order mark is ignored). Bytes that do not decode are the caller's 400; a charset that is
    no text encoding (``zlib_codec`` would inflate the body) is refused like an unknown one."""
    charset = media_type(content_type)[1].get("charset") or "utf-8-sig"
    encoding = "utf-8-sig" if charset.lower().replace("_", "-") in ("utf-8", "utf8") else charset
    try:
        return raw.decode(encoding)  # bytes.decode takes text encodings only
    except LookupError:
        raise ApiError(
            415, "unsupported_media_type", f"unknown charset {charset[:40]!r}; send UTF-8 JSON"
        ) from None
    except UnicodeDecodeError as error:
        name = "UTF-8" if encoding == "utf-8-sig" else charset
        raise bad_request(
            f"{what} is not valid {name} at byte {error.start}: send JSON in UTF-8, or declare "
            "its charset"
        ) from None


def parse_json(raw: bytes | str, what: str):
    """JSON as Python parses it, where every way it can fail is the caller's 400: bad syntax,
    nesting deeper than the parser's recursion limit, integers over 4300 digits."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)[:200]
        raise bad_request(f"{what} is not valid JSON: {reason}") from None


def base64_image(value: str, config: Config) -> bytes:
    """The bytes of a base64 image as clients write it: whitespace and line breaks anywhere,
    an optional ``data:...;base64,`` prefix (a browser's FileReader), the standard or URL-safe
    alphabet, padding or none."""
    if len(value) > config.max_image_bytes * 4 // 3 * 78 // 76 + 1024:
        raise too_large(f"image is larger than the limit of {config.max_image_bytes} bytes")
    text = value.strip()
    if (prefix := DATA_URL.match(text)) is not None:
        if "base64" not in prefix["parameters"].lower().split(";"):
            raise bad_request("image is a data: URL without ;base64")
        text = text[prefix.end() :]
    text = "".join(text.split())
    if not BASE64_TEXT.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise bad_request("image is not valid base64")
    text = text.rstrip("=").translate(str.maketrans("-_", "+/"))
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise bad_request("image is not valid base64") from error


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
    content_type = _header(event, "content-type")
    if body_kind(content_type, raw) == "image":
        # A raw image upload (function URL, or a binary media type): the body is the photo.
        return {"image": base64.b64encode(raw).decode(), "top_k": _query_top_k(event)}
    if len(raw) > config.max_image_bytes * 4 // 3 * 78 // 76 + 4096:
        raise too_large("the request body is too large")
    payload = parse_json(json_text(raw, content_type, "the request body"), "the request body")
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
        return Request("image", top_k, image=check_image(base64_image(value, config), config))
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
    try:
        uri.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON \ud800 escape
        raise bad_request("s3_uri is not valid Unicode") from None
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
