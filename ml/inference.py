"""SageMaker PyTorch endpoint handlers, shipped as ``code/inference.py`` in model.tar.gz.

Requests (``ml.payloads`` reads them the way ordinary clients send them):
- the image's bytes, under any ``image/*`` type, ``application/x-image`` or
  ``application/octet-stream``: JPEG (MPO and CMYK included), PNG, WebP or AVIF, told apart by
  their bytes (``ml.images``);
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

import json
import logging
import os
import re
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import torch
from PIL import Image
from sagemaker_inference import content_types
from sagemaker_inference.errors import GenericInferenceToolkitError

from ml import images, payloads
from ml.artifacts import CLASS_NAMES_FILE, CONFIG_FILE, INT8_WEIGHTS_FILE, WEIGHTS_FILE
from ml.data import eval_transform, resize_size
from ml.errors import InputError
from ml.images import EncodedImage
from ml.model import build_model

logger = logging.getLogger(__name__)

# The toolkit decodes an application/json body as UTF-8 before input_fn sees it, and answers
# any other encoding with a 500 and its traceback (sagemaker_inference 1.10.1,
# Transformer.transform: ``if content_type in content_types.UTF8_TYPES``). Left as bytes, the
# body is read by ml.payloads, which answers a 400 or honours a declared charset.
content_types.UTF8_TYPES[:] = [
    kind for kind in content_types.UTF8_TYPES if kind not in payloads.JSON_TYPES
]

JSON_CONTENT_TYPE = "application/json"
DEFAULT_TOP_K = 5
MAX_BATCH = 32
# An s3_uri object does not travel through InvokeEndpoint's 6 MB: a full-resolution phone
# photo fits.
MAX_S3_IMAGE_BYTES = 25 * 1024 * 1024
# A request's images decoded together may hold this many pixels: one full-size image and more
# (decoding costs time in proportion; memory holds one decoded image at a time).
MAX_REQUEST_PIXELS = 64 * 1024 * 1024
# Accept header parsing (RFC 9110, section 12.5.1): the ranges that match JSON, most specific
# first, and the syntax of a media range and a q-value.
JSON_RANGES = (JSON_CONTENT_TYPE, "application/*", "*/*")
MEDIA_RANGE = re.compile(r"[a-z0-9!#$&^_.+*-]+/[a-z0-9!#$&^_.+*-]+")
QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
MAX_ACCEPT_LENGTH = 1024


@dataclass
class LoadedModel:
    model: torch.nn.Module
    class_names: list[str]
    transform: object
    device: torch.device
    precision: str = "fp32"
    # The model's resize: the shorter side a JPEG may be decoded down to.
    shorter_side: int | None = None


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


def refused(function, *args):
    """``function(*args)``, its InputError raised as the toolkit's RequestError."""
    try:
        return function(*args)
    except InputError as error:
        raise RequestError(error.status, error.message) from None


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
    """int8 on an x86 CPU when the archive carries it (several times faster there), fp32 on a
    GPU and where torch has no x86 quantized engine (Graviton); ``INFERENCE_PRECISION``
    (``fp32`` or ``int8``) overrides the choice."""
    from ml.quantize import BACKEND

    has_int8 = (model_dir / INT8_WEIGHTS_FILE).is_file()
    runs_int8 = device.type == "cpu" and BACKEND in torch.backends.quantized.supported_engines
    wanted = os.environ.get("INFERENCE_PRECISION", "auto").strip().lower()
    if wanted == "fp32" or (wanted == "auto" and not (has_int8 and runs_int8)):
        return "fp32"
    if wanted not in ("int8", "auto"):
        raise ValueError(f"INFERENCE_PRECISION must be auto, fp32 or int8, got {wanted!r}")
    if not has_int8:
        raise ValueError(f"INFERENCE_PRECISION=int8 but {model_dir} has no {INT8_WEIGHTS_FILE}")
    if not runs_int8:
        raise ValueError(
            f"INFERENCE_PRECISION=int8 runs on a CPU with torch's {BACKEND} quantized engine only"
        )
    return "int8"


def model_fn(model_dir: str) -> LoadedModel:
    """Load the fine-tuned weights and class names from the model dir; never downloads."""
    model_dir = Path(model_dir)
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    class_names = json.loads((model_dir / CLASS_NAMES_FILE).read_text())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    precision = choose_precision(model_dir, device)
    if precision == "int8":
        from ml.quantize import load_int8

        state = torch.load(model_dir / INT8_WEIGHTS_FILE, map_location="cpu", weights_only=True)
        model = load_int8(config["arch"], len(class_names), config["image_size"], state)
    else:
        state = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        with torch.device("meta"):  # no random initialisation: every weight comes from the file
            model = build_model(config["arch"], len(class_names), pretrained=False)
        model.load_state_dict(state, assign=True)
        model = model.to(device, memory_format=torch.channels_last).eval()
    logger.info(
        "loaded %s (%s) with %d classes on %s", config["arch"], precision, len(class_names), device
    )
    transform = eval_transform(config["image_size"])
    shorter_side = resize_size(config["image_size"])
    return LoadedModel(model, class_names, transform, device, precision, shorter_side)


@dataclass(frozen=True)
class DecodedRequest:
    images: list[EncodedImage]
    options: dict
    batch: bool


def check_image(data: bytes, what: str) -> EncodedImage:
    return refused(images.check_image, data, what)


def decode_rgb(image: EncodedImage, shorter_side: int | None = None) -> Image.Image:
    """The image as the model sees it before its transform: RGB, upright, on white; with
    ``shorter_side`` (the model's resize), a large JPEG decoded at the smallest scale that
    keeps it."""
    return refused(images.decode_rgb, image, shorter_side)


def decode_image(data: bytes, what: str, shorter_side: int | None = None) -> Image.Image:
    """Check, then decode to RGB: one image, as the endpoint sees it."""
    return decode_rgb(check_image(data, what), shorter_side)


def read_s3_image(uri) -> EncodedImage:
    data = payloads.read_s3_object(uri, MAX_S3_IMAGE_BYTES)
    return images.check_image(
        data, "the s3_uri object", MAX_S3_IMAGE_BYTES, "send a smaller copy of the photo"
    )


def _parse_json(body: bytes | str, content_type: str) -> tuple[list[EncodedImage], dict, bool]:
    payload = payloads.parse_json(body, content_type)
    if not isinstance(payload, dict):
        raise InputError(400, "JSON request must be an object with image, images or s3_uri")
    sources = [key for key in ("image", "images", "s3_uri") if key in payload]
    if len(sources) != 1:
        raise InputError(400, "JSON request needs exactly one of image, images, s3_uri")
    if "image" in payload:
        image = payloads.base64_image(payload["image"], "image")
        return [images.check_image(image, "image")], payload, False
    if "s3_uri" in payload:
        return [read_s3_image(payload["s3_uri"])], payload, False
    batch = payload["images"]
    if not isinstance(batch, list) or not batch:
        raise InputError(400, "images must be a non-empty list of base64 strings")
    if len(batch) > MAX_BATCH:
        raise InputError(413, f"{len(batch)} images in one request; the limit is {MAX_BATCH}")
    checked = [
        images.check_image(payloads.base64_image(value, f"images[{i}]"), f"images[{i}]")
        for i, value in enumerate(batch)
    ]
    return checked, payload, True


def _options(payload: dict) -> dict:
    top_k = payload.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InputError(400, f"top_k must be a positive integer, got {str(top_k)[:20]!r}")
    include_logits = payload.get("include_logits", False)
    if not isinstance(include_logits, bool):
        raise InputError(400, "include_logits must be true or false")
    return {"top_k": top_k, "include_logits": include_logits}


def input_fn(request_body, request_content_type: str, context=None):
    """Decode the request into images and options (preprocessing happens in predict_fn)."""
    if context is None:
        return decode_request(request_body, request_content_type)
    return _answer_or_error(decode_request, request_body, request_content_type)


def decode_request(request_body, request_content_type: str) -> DecodedRequest:
    """Parse and check the request; images stay encoded until predict decodes them one by one,
    so memory follows the request's bytes, not what its images would decode to."""
    return refused(_decode_request, request_body, request_content_type)


def _decode_request(request_body, request_content_type: str) -> DecodedRequest:
    if payloads.body_kind(request_content_type, request_body) == "image":
        body = request_body.encode() if isinstance(request_body, str) else bytes(request_body)
        return DecodedRequest([images.check_image(body, "request body")], {}, False)
    checked, payload, batch = _parse_json(request_body, request_content_type)
    options = _options(payload)
    total = sum(image.pixels for image in checked)
    if total > MAX_REQUEST_PIXELS:
        raise InputError(
            413,
            f"the images hold {total} pixels together; a request may hold "
            f"{MAX_REQUEST_PIXELS} (send fewer or smaller images)",
        )
    return DecodedRequest(checked, options, batch)


def predict_fn(data, loaded: LoadedModel, context=None):
    if isinstance(data, ErrorAnswer):
        return data
    if context is None:
        return predict(data, loaded)
    return _answer_or_error(predict, data, loaded)


def predict(data: DecodedRequest, loaded: LoadedModel) -> dict:
    encoded, options, batch = data.images, data.options, data.batch
    # Each image is decoded and transformed before the next: one full-size image in memory.
    tensor = torch.stack(
        [loaded.transform(decode_rgb(image, loaded.shorter_side)) for image in encoded]
    )
    tensor = tensor.to(loaded.device, memory_format=torch.channels_last)
    with torch.inference_mode():
        logits = loaded.model(tensor).float().cpu()
    if not torch.isfinite(logits).all():  # a broken model: no answer is better than NaN
        raise ArithmeticError("the model's scores are not all finite")
    top_k = min(options.get("top_k", DEFAULT_TOP_K), len(loaded.class_names))
    probabilities = logits.softmax(dim=1)
    values, indices = probabilities.topk(top_k, dim=1)
    results = []
    for row in range(len(encoded)):
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
            return json.dumps(prediction, allow_nan=False), JSON_CONTENT_TYPE
        except RequestError as error:
            if context is None:
                raise
            prediction = ErrorAnswer.of(error)
    logger.warning("answering %d %s: %s", prediction.status, prediction.code, prediction.message)
    if context is None:
        raise RequestError(prediction.status, prediction.message)
    context.set_response_status(code=prediction.status, phrase=HTTPStatus(prediction.status).phrase)
    return prediction.body(), JSON_CONTENT_TYPE
