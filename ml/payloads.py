"""What a request to the endpoint carries, read the way ordinary clients send it.

- The body is the image itself under any ``image/*`` type (``image/jpg`` and ``image/pjpeg``
  included), ``application/x-image`` and ``application/octet-stream`` (SDK defaults), or
  whatever the type when its bytes are a photo: the bytes say which format it is
  (``ml.images``), the declared type is only a hint.
- Or it is JSON (``application/json``, ``text/json``): UTF-8 as RFC 8259 requires (a UTF-8
  byte order mark is ignored), or in the charset its ``charset`` parameter declares. An image
  in JSON is base64, standard or URL-safe, with or without padding, line breaks or a
  ``data:image/...;base64,`` prefix (what a browser's FileReader gives).
- Or ``{"s3_uri": "s3://bucket/key"}``: one GetObject with the endpoint's role, over by its
  wall-clock deadline however slowly the bytes arrive.

Anything else is refused with ``InputError``: its HTTP status and a message naming the problem.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import logging
import os
import queue
import re
import threading

from ml.errors import InputError
from ml.images import MAX_IMAGE_BYTES, signature

logger = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"application/x-image", "application/octet-stream"})
JSON_TYPES = frozenset({"application/json", "text/json"})
# TorchServe decodes form bodies into fields before a handler sees them: an image sent as a
# form cannot be read back, so forms are refused with how to send the image instead.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
ACCEPTED_TYPES_TEXT = (
    "send the image's bytes (image/jpeg, image/png, image/webp, any image/*, "
    "application/x-image or application/octet-stream) or JSON (application/json)"
)
# base64 of the largest image, with room for a data: prefix and line breaks every 76
# characters (MIME, base64.encodebytes, openssl): what is longer cannot be under the limit.
MAX_BASE64_CHARACTERS = MAX_IMAGE_BYTES * 4 // 3 * 78 // 76 + 1024
DATA_URL = re.compile(r"data:(?P<type>[^,;]*)(?P<parameters>(?:;[^,;]*)*),", re.IGNORECASE)
BASE64_TEXT = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")
S3_URI = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f\x7f]{1,1024})"
)
# Reading s3_uri: one attempt, 2 s to connect and per socket read, and the whole object within
# S3_DEADLINE_SECONDS of wall-clock time, far inside InvokeEndpoint's 60 s.
S3_DEADLINE_SECONDS = 5
S3_READ_BYTES = 64 * 1024


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``Image/JPEG; Charset="x"`` -> ``("image/jpeg", {"charset": "x"})``."""
    essence, *parameters = (content_type or "").split(";")
    found = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        found[name.strip().lower()] = value.strip().strip('"')
    return essence.strip().lower(), found


def body_kind(content_type: str | None, body: bytes | str = b"") -> str:
    """``"image"`` or ``"json"``. Declared JSON is JSON, any image type or octet-stream is the
    photo; with no type or another one, the bytes decide: a photo is a photo, and JSON is
    read as JSON. Forms are refused (``FORM_TYPES``)."""
    essence, _ = media_type(content_type)
    if essence in JSON_TYPES:
        return "json"
    if essence in FORM_TYPES:
        raise InputError(
            415,
            f"unsupported content type {content_type!r}: an HTML form cannot carry the image; "
            f"{ACCEPTED_TYPES_TEXT}",
        )
    start = bytes(body[:64] if isinstance(body, bytes | bytearray) else body[:64].encode())
    if essence.startswith("image/") or essence in IMAGE_TYPES or signature(start):
        return "image"
    if not essence or start.lstrip()[:1] in (b"{", b"["):
        return "json"
    raise InputError(415, f"unsupported content type {content_type!r}: {ACCEPTED_TYPES_TEXT}")


def json_text(body: bytes | str, content_type: str | None) -> str:
    """The JSON body as text: in its declared charset, else UTF-8 (a UTF-8 BOM ignored). A
    charset that is no text encoding (``zlib_codec`` would inflate the body) is refused like
    an unknown one."""
    if isinstance(body, str):
        return body
    charset = media_type(content_type)[1].get("charset") or "utf-8-sig"
    encoding = "utf-8-sig" if charset.lower().replace("_", "-") in ("utf-8", "utf8") else charset
    try:
        return bytes(body).decode(encoding)  # bytes.decode takes text encodings only
    except LookupError:
        raise InputError(415, f"unknown charset {charset[:40]!r}; send UTF-8 JSON") from None
    except UnicodeDecodeError as error:
        name = "UTF-8" if encoding == "utf-8-sig" else charset
        raise InputError(
            400,
            f"request body is not valid {name} at byte {error.start}: send JSON in UTF-8, or "
            "declare its charset",
        ) from None


def parse_json(body: bytes | str, content_type: str | None = "application/json"):
    """JSON where every way Python's parser fails is the caller's 400: bad syntax or encoding,
    nesting past the recursion limit, integers over 4300 digits."""
    text = json_text(body, content_type)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)[:200]
        raise InputError(400, f"request body is not valid JSON: {reason}") from None


def base64_image(value, what: str) -> bytes:
    """The bytes of a base64 image as clients write it: whitespace and line breaks anywhere,
    an optional ``data:...;base64,`` prefix, the standard or URL-safe alphabet, padding or
    none."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(400, f"{what} must be a non-empty base64 string")
    if len(value) > MAX_BASE64_CHARACTERS:
        raise InputError(413, f"{what} is over the limit of {MAX_IMAGE_BYTES} bytes")
    text = value.strip()
    if (prefix := DATA_URL.match(text)) is not None:
        if "base64" not in prefix["parameters"].lower().split(";"):
            raise InputError(400, f"{what} is a data: URL without ;base64")
        text = text[prefix.end() :]
    text = "".join(text.split())
    if not BASE64_TEXT.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise InputError(400, f"{what} is not valid base64")
    text = text.rstrip("=").translate(str.maketrans("-_", "+/"))
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InputError(400, f"{what} is not valid base64: {error}") from None


def s3_input_enabled() -> bool:
    """Off where the model runs with network isolation (Terraform sets S3_INPUT_ENABLED):
    there an S3 read could only wait for its timeout."""
    return os.environ.get("S3_INPUT_ENABLED", "true").strip().lower() != "false"


@functools.cache
def _s3_client():
    import boto3  # only requests with s3_uri need it
    from botocore.config import Config

    return boto3.client(
        "s3",
        config=Config(connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 1}),
    )


def parse_s3_uri(uri) -> tuple[str, str]:
    if not s3_input_enabled():
        raise InputError(
            400,
            "s3_uri input is off on this endpoint (it runs with network isolation); send the "
            "image itself",
        )
    if not isinstance(uri, str) or not (match := S3_URI.fullmatch(uri)):
        raise InputError(400, "s3_uri must look like s3://bucket/key")
    try:
        match["key"].encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON \ud800 escape
        raise InputError(400, "s3_uri's key is not valid Unicode") from None
    return match["bucket"], match["key"]


def read_s3_object(uri, max_bytes: int) -> bytes:
    """The object's bytes, or an InputError, within S3_DEADLINE_SECONDS of wall-clock time:
    the read runs in a thread that the request stops waiting for at the deadline, and whose
    stream it then cuts short (a daemon thread: nothing waits for it at exit)."""
    bucket, key = parse_s3_uri(uri)
    outcome: queue.Queue = queue.Queue(maxsize=1)
    opened: list = []

    def read() -> None:
        try:
            outcome.put((True, _get_object(bucket, key, max_bytes, opened)))
        except Exception as error:  # handed to the request's thread, raised there
            outcome.put((False, error))

    threading.Thread(target=read, name="s3_uri", daemon=True).start()
    try:
        succeeded, result = outcome.get(timeout=S3_DEADLINE_SECONDS)
    except queue.Empty:
        for body in opened:
            _cut_short(body)
        raise InputError(
            502, f"the s3_uri object took over {S3_DEADLINE_SECONDS} s to read"
        ) from None
    if not succeeded:
        raise result
    return result


def _cut_short(body) -> None:
    """End a read in progress on another thread: its next socket read times out at once."""
    with contextlib.suppress(AttributeError, OSError):
        body.set_socket_timeout(0.001)
    with contextlib.suppress(OSError):
        body.close()


def _get_object(bucket: str, key: str, max_bytes: int, opened: list) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _s3_client().get_object(Bucket=bucket, Key=key)
        body = answer["Body"]
        opened.append(body)
        if answer["ContentLength"] > max_bytes:
            body.close()
            raise InputError(
                413,
                f"the s3_uri object is {answer['ContentLength']} bytes; the limit is "
                f"{max_bytes}: send a smaller image",
            )
        data = bytearray()
        while piece := body.read(S3_READ_BYTES):
            data += piece
        return bytes(data)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise InputError(400, "the s3_uri object does not exist") from None
        raise InputError(400, f"cannot read the s3_uri object: {code or 'error'}") from None
    except BotoCoreError as error:
        logger.warning("s3_uri read failed: %s", error)
        raise InputError(502, "cannot read the s3_uri object: S3 did not answer") from error
    except (OSError, ValueError) as error:  # the stream closed at the deadline, or broken
        raise InputError(502, "cannot read the s3_uri object: the read broke off") from error
