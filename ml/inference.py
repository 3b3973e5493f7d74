"""SageMaker PyTorch endpoint handlers, shipped as ``code/inference.py`` in model.tar.gz.

Requests:
- ``image/jpeg``, ``image/png``, ``application/x-image``: the raw image bytes;
- ``application/json``: ``{"image": "<base64>"}``, ``{"images": ["<base64>", ...]}`` (a batch)
  or ``{"s3_uri": "s3://bucket/key"}`` (read with the endpoint's role; no other URLs are ever
  fetched), with optional ``"top_k"`` (default 5) and ``"include_logits"`` (default false).

Responses (``application/json``): ``{"predictions": [{"breed", "index", "probability"}, ...]}``
for one image, ``{"results": [{"predictions": [...]}, ...]}`` for a batch.

Errors are answered in the shape the Lambda uses, ``{"error": {"code", "message"}}``, with a
4xx status naming the problem (500 ``internal`` for a fault of ours, whose traceback goes to
the log, never to the caller). The serving toolkit turns a raised error into its message plus
a traceback, so under the toolkit (which passes its ``context``) a refused request travels
down the handler chain as an ``ErrorAnswer`` and ``output_fn`` sets its status on the context.
Called without a context (in-process), the handlers raise ``RequestError`` instead.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from sagemaker_inference.errors import GenericInferenceToolkitError

from ml.artifacts import CLASS_NAMES_FILE, CONFIG_FILE, WEIGHTS_FILE
from ml.data import eval_transform
from ml.model import build_model

logger = logging.getLogger(__name__)

IMAGE_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "application/x-image"})
JSON_CONTENT_TYPE = "application/json"
DEFAULT_TOP_K = 5
MAX_BATCH = 32
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
# A request's images decoded together may hold this many pixels: one full-size image and more
# (decoding costs time in proportion; memory holds one decoded image at a time).
MAX_REQUEST_PIXELS = 2 * MAX_IMAGE_PIXELS
# Sides further apart than this are no photo: a 16 x 1,048,576 PNG passes the pixel limit, and
# resizing its shorter side would ask for gigabytes.
MAX_ASPECT_RATIO = 10
IMAGE_FORMATS = frozenset({"JPEG", "PNG"})
# Accept header parsing (RFC 9110, section 12.5.1): the ranges that match JSON, most specific
# first, and the syntax of a media range and a q-value.
JSON_RANGES = (JSON_CONTENT_TYPE, "application/*", "*/*")
MEDIA_RANGE = re.compile(r"[a-z0-9!#$&^_.+*-]+/[a-z0-9!#$&^_.+*-]+")
QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
MAX_ACCEPT_LENGTH = 1024
S3_URI = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f\x7f]{1,1024})"
)


@dataclass
class LoadedModel:
    model: torch.nn.Module
    class_names: list[str]
    transform: object
    device: torch.device
    precision: str = "fp32"


# The stable code of each status this handler answers with (the Lambda's codes).
ERROR_CODES = {
    400: "bad_request",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal",
    502: "input_unavailable",
}


class RequestError(GenericInferenceToolkitError):
    """A request the endpoint refuses: HTTP status, stable code, a message naming the problem."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.code = ERROR_CODES[status]


def request_error(status: int, message: str) -> RequestError:
    return RequestError(status, message)


@dataclass(frozen=True)
class ErrorAnswer:
    """The answer to a refused request, passed down the handler chain to ``output_fn``."""

    status: int
    code: str
    message: str

    @classmethod
    def of(cls, error: RequestError) -> ErrorAnswer:
        return cls(error.status_code, error.code, error.message)

    def body(self) -> str:
        return json.dumps({"error": {"code": self.code, "message": self.message}})


INTERNAL_ERROR = ErrorAnswer(
    500, "internal", "the model server failed on this request; its log has the details"
)


def _answer_or_error(function, *args):
    """``function(*args)``, or the ErrorAnswer for what it raised (faults logged in full)."""
    try:
        return function(*args)
    except RequestError as error:
        return ErrorAnswer.of(error)
    except Exception:
        logger.exception("%s failed", function.__name__)
        return INTERNAL_ERROR


def choose_precision(model_dir: Path, device: torch.device) -> str:
    """int8 on a CPU when the archive carries it (several times faster there), fp32 on a GPU;
    ``INFERENCE_PRECISION`` (``fp32`` or ``int8``) overrides the choice."""
    from ml.quantize import INT8_WEIGHTS_FILE

    has_int8 = (model_dir / INT8_WEIGHTS_FILE).is_file()
    wanted = os.environ.get("INFERENCE_PRECISION", "auto").strip().lower()
    if wanted == "fp32" or (wanted == "auto" and (device.type == "cuda" or not has_int8)):
        return "fp32"
    if wanted not in ("int8", "auto"):
        raise ValueError(f"INFERENCE_PRECISION must be auto, fp32 or int8, got {wanted!r}")
    if not has_int8:
        raise ValueError(f"INFERENCE_PRECISION=int8 but {model_dir} has no {INT8_WEIGHTS_FILE}")
    if device.type != "cpu":
        raise ValueError("INFERENCE_PRECISION=int8 runs on the CPU only (the x86 backend)")
    return "int8"


def model_fn(model_dir: str) -> LoadedModel:
    """Load the fine-tuned weights and class names from the model dir; never downloads."""
    model_dir = Path(model_dir)
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    class_names = json.loads((model_dir / CLASS_NAMES_FILE).read_text())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    precision = choose_precision(model_dir, device)
    if precision == "int8":
        from ml.quantize import INT8_WEIGHTS_FILE, load_int8

        state = torch.load(model_dir / INT8_WEIGHTS_FILE, map_location="cpu", weights_only=True)
        model = load_int8(config["arch"], len(class_names), config["image_size"], state)
    else:
        model = build_model(config["arch"], len(class_names), pretrained=False)
        state = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        model = model.to(device, memory_format=torch.channels_last).eval()
    logger.info(
        "loaded %s (%s) with %d classes on %s", config["arch"], precision, len(class_names), device
    )
    transform = eval_transform(config["image_size"])
    return LoadedModel(model, class_names, transform, device, precision)


@dataclass(frozen=True)
class EncodedImage:
    """An image whose header passed the limits; decoded only when its turn comes."""

    data: bytes
    what: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class DecodedRequest:
    images: list[EncodedImage]
    options: dict
    batch: bool


def check_image(data: bytes, what: str) -> EncodedImage:
    """Format and size from the header alone: nothing is decoded before every limit holds."""
    if len(data) > MAX_IMAGE_BYTES:
        raise request_error(413, f"{what} is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    try:
        # Pillow warns of sizes past its own bomb limit: far past ours, so an error here.
        with (
            warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning),
            Image.open(io.BytesIO(data)) as image,
        ):
            image_format, (width, height) = image.format, image.size
    except UnidentifiedImageError as error:
        message = f"{what} is not a JPEG or PNG image"
        raise request_error(400, message) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise request_error(413, f"{what} has too many pixels: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise request_error(400, f"{what} is a damaged or truncated image: {error}") from error
    if image_format not in IMAGE_FORMATS:
        raise request_error(400, f"{what} is a {image_format} image; send JPEG or PNG")
    if width * height > MAX_IMAGE_PIXELS:
        raise request_error(
            413, f"{what} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels"
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise request_error(
            400,
            f"{what} is {width}x{height} pixels; sides more than {MAX_ASPECT_RATIO} times apart "
            "are refused",
        )
    return EncodedImage(data, what, width, height)


def decode_rgb(image: EncodedImage) -> Image.Image:
    try:
        with Image.open(io.BytesIO(image.data)) as opened:
            return opened.convert("RGB")
    except (OSError, SyntaxError, ValueError) as error:
        raise request_error(
            400, f"{image.what} is a damaged or truncated image: {error}"
        ) from error


def decode_image(data: bytes, what: str) -> Image.Image:
    """Check, then decode to RGB: one image, as the endpoint sees it."""
    return decode_rgb(check_image(data, what))


def check_base64_image(value, what: str) -> EncodedImage:
    if not isinstance(value, str) or not value:
        raise request_error(400, f"{what} must be a non-empty base64 string")
    if len(value) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise request_error(413, f"{what} is over the limit of {MAX_IMAGE_BYTES} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise request_error(400, f"{what} is not valid base64: {error}") from error
    return check_image(data, what)


def s3_input_enabled() -> bool:
    """Off where the model runs with network isolation (Terraform sets S3_INPUT_ENABLED):
    there an S3 read could only wait for its timeout."""
    return os.environ.get("S3_INPUT_ENABLED", "true").strip().lower() != "false"


# Reading s3_uri: one attempt, 2 s to connect, 2 s per socket read, and the whole object
# within S3_DEADLINE_SECONDS (checked between 64 KiB reads): far inside InvokeEndpoint's 60 s.
S3_DEADLINE_SECONDS = 5
S3_READ_BYTES = 64 * 1024


@functools.cache
def _s3_client():
    import boto3  # only requests with s3_uri need it
    from botocore.config import Config

    return boto3.client(
        "s3",
        config=Config(connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 1}),
    )


def _read_body(body, deadline: float) -> bytes:
    data = bytearray()
    while piece := body.read(S3_READ_BYTES):
        data += piece
        if time.monotonic() > deadline:
            raise request_error(502, f"the s3_uri object took over {S3_DEADLINE_SECONDS} s to read")
    return bytes(data)


def read_s3_image(uri) -> EncodedImage:
    if not s3_input_enabled():
        raise request_error(
            400,
            "s3_uri input is off on this endpoint (it runs with network isolation); send the "
            "image itself",
        )
    if not isinstance(uri, str) or not (match := S3_URI.fullmatch(uri)):
        raise request_error(400, "s3_uri must look like s3://bucket/key")
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + S3_DEADLINE_SECONDS
    try:
        answer = _s3_client().get_object(Bucket=match["bucket"], Key=match["key"])
        if answer["ContentLength"] > MAX_IMAGE_BYTES:
            answer["Body"].close()
            raise request_error(
                413,
                f"the s3_uri object is {answer['ContentLength']} bytes; the limit is "
                f"{MAX_IMAGE_BYTES}",
            )
        data = _read_body(answer["Body"], deadline)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise request_error(400, "the s3_uri object does not exist") from None
        raise request_error(400, f"cannot read the s3_uri object: {code or 'error'}") from None
    except BotoCoreError as error:
        logger.warning("s3_uri read failed: %s", error)
        raise request_error(502, "cannot read the s3_uri object: S3 did not answer") from error
    return check_image(data, "the s3_uri object")


def parse_json(body: bytes | str):
    """JSON where every way Python's parser fails is the caller's 400: bad syntax or encoding,
    nesting past the recursion limit, integers over 4300 digits."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)[:200]
        raise request_error(400, f"request body is not valid JSON: {reason}") from None


def _parse_json(body: bytes | str) -> tuple[list[EncodedImage], dict, bool]:
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise request_error(400, "JSON request must be an object with image, images or s3_uri")
    sources = [key for key in ("image", "images", "s3_uri") if key in payload]
    if len(sources) != 1:
        raise request_error(400, "JSON request needs exactly one of image, images, s3_uri")
    if "image" in payload:
        return [check_base64_image(payload["image"], "image")], payload, False
    if "s3_uri" in payload:
        return [read_s3_image(payload["s3_uri"])], payload, False
    images = payload["images"]
    if not isinstance(images, list) or not images:
        raise request_error(400, "images must be a non-empty list of base64 strings")
    if len(images) > MAX_BATCH:
        raise request_error(413, f"{len(images)} images in one request; the limit is {MAX_BATCH}")
    checked = [check_base64_image(value, f"images[{i}]") for i, value in enumerate(images)]
    return checked, payload, True


def _option_top_k(payload: dict) -> int:
    top_k = payload.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise request_error(400, f"top_k must be a positive integer, got {str(top_k)[:20]!r}")
    return top_k


def input_fn(request_body, request_content_type: str, context=None):
    """Decode the request into images and options (preprocessing happens in predict_fn)."""
    if context is None:
        return decode_request(request_body, request_content_type)
    return _answer_or_error(decode_request, request_body, request_content_type)


def decode_request(request_body, request_content_type: str) -> DecodedRequest:
    """Parse and check the request; images stay encoded until predict decodes them one by one,
    so memory follows the request's bytes, not what its images would decode to."""
    content_type = (request_content_type or "").split(";")[0].strip().lower()
    if content_type in IMAGE_CONTENT_TYPES:
        return DecodedRequest([check_image(bytes(request_body), "request body")], {}, False)
    if content_type == JSON_CONTENT_TYPE:
        images, payload, batch = _parse_json(request_body)
        options = {
            "top_k": _option_top_k(payload),
            "include_logits": payload.get("include_logits", False),
        }
        if not isinstance(options["include_logits"], bool):
            raise request_error(400, "include_logits must be true or false")
        total = sum(image.pixels for image in images)
        if total > MAX_REQUEST_PIXELS:
            raise request_error(
                413,
                f"the images hold {total} pixels together; a request may hold "
                f"{MAX_REQUEST_PIXELS} (send fewer or smaller images)",
            )
        return DecodedRequest(images, options, batch)
    supported = ", ".join(sorted(IMAGE_CONTENT_TYPES | {JSON_CONTENT_TYPE}))
    raise request_error(
        415, f"unsupported content type {request_content_type!r}; use one of {supported}"
    )


def predict_fn(data, loaded: LoadedModel, context=None):
    if isinstance(data, ErrorAnswer):
        return data
    if context is None:
        return predict(data, loaded)
    return _answer_or_error(predict, data, loaded)


def predict(data: DecodedRequest, loaded: LoadedModel) -> dict:
    images, options, batch = data.images, data.options, data.batch
    # Each image is decoded and transformed before the next: one full-size image in memory.
    tensor = torch.stack([loaded.transform(decode_rgb(image)) for image in images])
    tensor = tensor.to(loaded.device, memory_format=torch.channels_last)
    with torch.inference_mode():
        logits = loaded.model(tensor).float().cpu()
    top_k = min(options.get("top_k", DEFAULT_TOP_K), len(loaded.class_names))
    probabilities = logits.softmax(dim=1)
    values, indices = probabilities.topk(top_k, dim=1)
    results = []
    for row in range(len(images)):
        result = {
            "predictions": [
                {"breed": loaded.class_names[index], "index": index, "probability": round(value, 6)}
                for value, index in zip(values[row].tolist(), indices[row].tolist(), strict=True)
            ]
        }
        if options.get("include_logits"):
            result["logits"] = [round(value, 6) for value in logits[row].tolist()]
        results.append(result)
    answer = {"results": results} if batch else results[0]
    answer["precision"] = loaded.precision
    return answer


def _quality(value: str, header: str) -> float:
    """An Accept q-value: 0 to 1 with at most three decimals (RFC 9110, section 12.4.2)."""
    if not QVALUE.fullmatch(value):
        raise request_error(400, f"Accept header {header[:100]!r} has a malformed q-value")
    return float(value)


def json_quality(accept: str | None) -> float:
    """How much an Accept header wants application/json: the q of its most specific range
    that matches (application/json, then application/*, then */*); 0 when none does."""
    if not accept or not accept.strip():
        return 1.0
    if len(accept) > MAX_ACCEPT_LENGTH:
        raise request_error(400, f"Accept header is over {MAX_ACCEPT_LENGTH} characters")
    matches: dict[str, float] = {}
    for item in accept.split(","):
        if not item.strip():
            continue
        media_range, *parameters = (part.strip() for part in item.split(";"))
        media_range = media_range.lower()
        if not MEDIA_RANGE.fullmatch(media_range):
            raise request_error(400, f"Accept header {accept[:100]!r} is malformed")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(value.strip(), accept)
        if media_range in JSON_RANGES:
            matches.setdefault(media_range, quality)
    for media_range in JSON_RANGES:  # most specific first
        if media_range in matches:
            return matches[media_range]
    return 0.0


def check_accept(accept: str | None) -> None:
    if json_quality(accept) == 0:
        raise request_error(
            406, f"unsupported accept type {(accept or '')[:100]!r}; use {JSON_CONTENT_TYPE}"
        )


def output_fn(prediction, accept: str, context=None) -> tuple[str, str]:
    if not isinstance(prediction, ErrorAnswer):
        try:
            check_accept(accept)
            return json.dumps(prediction), JSON_CONTENT_TYPE
        except RequestError as error:
            if context is None:
                raise
            prediction = ErrorAnswer.of(error)
    logger.warning("answering %d %s: %s", prediction.status, prediction.code, prediction.message)
    if context is None:
        raise RequestError(prediction.status, prediction.message)
    context.set_response_status(code=prediction.status, phrase=HTTPStatus(prediction.status).phrase)
    return prediction.body(), JSON_CONTENT_TYPE
