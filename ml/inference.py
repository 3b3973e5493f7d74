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
import re
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
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.+)$")


@dataclass
class LoadedModel:
    model: torch.nn.Module
    class_names: list[str]
    transform: object
    device: torch.device


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


def model_fn(model_dir: str) -> LoadedModel:
    """Load the fine-tuned weights and class names from the model dir; never downloads."""
    model_dir = Path(model_dir)
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    class_names = json.loads((model_dir / CLASS_NAMES_FILE).read_text())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(config["arch"], len(class_names), pretrained=False)
    state = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model = model.to(device, memory_format=torch.channels_last).eval()
    logger.info("loaded %s with %d classes on %s", config["arch"], len(class_names), device)
    return LoadedModel(model, class_names, eval_transform(config["image_size"]), device)


def decode_image(data: bytes, what: str) -> Image.Image:
    if len(data) > MAX_IMAGE_BYTES:
        raise request_error(413, f"{what} is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise request_error(
                413, f"{what} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels"
            )
        return image.convert("RGB")
    except UnidentifiedImageError as error:
        message = f"{what} is not an image in a known format (send JPEG or PNG)"
        raise request_error(400, message) from error
    except Image.DecompressionBombError as error:
        raise request_error(413, f"{what} has too many pixels: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise request_error(400, f"{what} is a damaged or truncated image: {error}") from error


def decode_base64_image(value, what: str) -> Image.Image:
    if not isinstance(value, str) or not value:
        raise request_error(400, f"{what} must be a non-empty base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise request_error(400, f"{what} is not valid base64: {error}") from error
    return decode_image(data, what)


@functools.cache
def _s3_client():
    import boto3  # only requests with s3_uri need it

    return boto3.client("s3")


def read_s3_image(uri) -> Image.Image:
    if not isinstance(uri, str) or not (match := S3_URI.match(uri)):
        raise request_error(400, "s3_uri must look like s3://bucket/key")
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = _s3_client()
    try:
        head = s3.head_object(Bucket=match["bucket"], Key=match["key"])
        if head["ContentLength"] > MAX_IMAGE_BYTES:
            raise request_error(
                413, f"{uri} is {head['ContentLength']} bytes; the limit is {MAX_IMAGE_BYTES}"
            )
        data = s3.get_object(Bucket=match["bucket"], Key=match["key"])["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise request_error(400, f"cannot read {uri}: {code or error}") from error
    except BotoCoreError as error:
        raise request_error(502, f"cannot read {uri}: {error}") from error
    return decode_image(data, uri)


def _parse_json(body: bytes | str) -> tuple[list[Image.Image], dict, bool]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise request_error(400, f"request body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise request_error(400, "JSON request must be an object with image, images or s3_uri")
    sources = [key for key in ("image", "images", "s3_uri") if key in payload]
    if len(sources) != 1:
        raise request_error(400, "JSON request needs exactly one of image, images, s3_uri")
    if "image" in payload:
        return [decode_base64_image(payload["image"], "image")], payload, False
    if "s3_uri" in payload:
        return [read_s3_image(payload["s3_uri"])], payload, False
    images = payload["images"]
    if not isinstance(images, list) or not images:
        raise request_error(400, "images must be a non-empty list of base64 strings")
    if len(images) > MAX_BATCH:
        raise request_error(413, f"{len(images)} images in one request; the limit is {MAX_BATCH}")
    decoded = [decode_base64_image(value, f"images[{i}]") for i, value in enumerate(images)]
    return decoded, payload, True


def _option_top_k(payload: dict) -> int:
    top_k = payload.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise request_error(400, f"top_k must be a positive integer, got {top_k!r}")
    return top_k


def input_fn(request_body, request_content_type: str, context=None):
    """Decode the request into images and options (preprocessing happens in predict_fn)."""
    if context is None:
        return decode_request(request_body, request_content_type)
    return _answer_or_error(decode_request, request_body, request_content_type)


def decode_request(request_body, request_content_type: str) -> tuple[list[Image.Image], dict, bool]:
    content_type = (request_content_type or "").split(";")[0].strip().lower()
    if content_type in IMAGE_CONTENT_TYPES:
        return [decode_image(bytes(request_body), "request body")], {}, False
    if content_type == JSON_CONTENT_TYPE:
        images, payload, batch = _parse_json(request_body)
        options = {
            "top_k": _option_top_k(payload),
            "include_logits": payload.get("include_logits", False),
        }
        if not isinstance(options["include_logits"], bool):
            raise request_error(400, "include_logits must be true or false")
        return images, options, batch
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


def predict(data, loaded: LoadedModel) -> dict:
    images, options, batch = data
    tensor = torch.stack([loaded.transform(image) for image in images])
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
    return {"results": results} if batch else results[0]


def check_accept(accept: str) -> None:
    accept = (accept or JSON_CONTENT_TYPE).split(";")[0].strip().lower()
    if accept not in {JSON_CONTENT_TYPE, "*/*"}:
        raise request_error(406, f"unsupported accept type {accept!r}; use {JSON_CONTENT_TYPE}")


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
