"""One window of captured traffic, read record by record and summed up against the baseline.

A capture record (developer guide, "Capture data from real-time endpoint") is one JSON line:
``captureData.endpointInput`` (the request: ``observedContentType``, ``data``, ``encoding``:
BASE64, or JSON for the capture's JSON content types) and ``endpointOutput`` (the answer), and
``eventMetadata.inferenceTime``. The request is a photo's bytes (``image/*``), or the JSON the
invoker sends, ``{"image": "<base64>"}`` or a batch ``{"images": [...]}`` (a request by
``s3_uri`` carries no photo: its answer counts, its photo does not). The answer is
``{"predictions": [{"breed", "probability"}, ...]}``, or ``{"results": [...]}`` for a batch;
an answer without predictions counts as an error. A line that is no such record is unreadable.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from invoker.errors import ApiError
from invoker.images import image_size, image_type

# Pillow's format names, as the baseline's image mix has them (a multi-picture JPEG is MPO).
FORMAT_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/avif": "AVIF",
}
SAME_FORMATS = {"MPO": "JPEG"}
# Image formats and sizes that were under this share of the training images are unfamiliar.
RARE_IN_TRAINING = 0.01
# JSON nested past Python's limit raises RecursionError, not a ValueError.
UNPARSABLE = (ValueError, RecursionError)

Answer = tuple[str | None, float | None]  # the top-1 breed and its probability; None: an error
Photo = tuple[str, int | None]  # its format ("unreadable" when not one the endpoint reads), side


def _decoded(payload: dict) -> bytes:
    data = payload["data"]
    if payload.get("encoding") == "BASE64":
        return base64.b64decode(data, validate=True)
    return data.encode("utf-8") if isinstance(data, str) else b""


def _photo_of(data: bytes) -> Photo:
    try:
        kind, (width, height) = image_type(data), image_size(data)
    except ApiError:
        return "unreadable", None
    return FORMAT_NAMES.get(kind, "unreadable"), min(width, height)


def photos_of(request: bytes) -> list[Photo]:
    """The photos a request carries: itself, or the base64 ones of its JSON."""
    if request.lstrip()[:1] != b"{":
        return [_photo_of(request)]
    try:
        payload = json.loads(request)
    except UNPARSABLE:
        return [("unreadable", None)]
    if not isinstance(payload, dict):
        return [("unreadable", None)]
    sent = [payload["image"]] if "image" in payload else payload.get("images", [])
    photos = []
    for item in sent if isinstance(sent, list) else [sent]:
        try:
            photos.append(_photo_of(base64.b64decode(item, validate=True)))
        except (TypeError, ValueError, binascii.Error):
            photos.append(("unreadable", None))
    return photos


def _top_of(answer: object) -> Answer:
    try:
        best = answer["predictions"][0]
        breed, probability = str(best["breed"]), float(best["probability"])
    except (KeyError, TypeError, IndexError, ValueError):
        return None, None
    if not 0.0 <= probability <= 1.0:
        return None, None
    return breed, probability


def answers_of(data: bytes) -> list[Answer]:
    """The top answer of each photo: one, or each of a batch's results."""
    try:
        answer = json.loads(data)
    except UNPARSABLE:
        return [(None, None)]
    if isinstance(answer, dict) and isinstance(answer.get("results"), list):
        return [_top_of(result) for result in answer["results"]] or [(None, None)]
    return [_top_of(answer)]


def inference_time(record: dict) -> datetime | None:
    """When the request was answered (UTC), or None when the record does not say."""
    try:
        moment = datetime.fromisoformat(
            record["eventMetadata"]["inferenceTime"].replace("Z", "+00:00")
        )
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Window:
    """The records of one period (``since`` to ``until``; unbounded when None), added up as
    they are read: a record whose time lies outside is left out, one without a time kept."""

    since: datetime | None = None
    until: datetime | None = None
    records: int = 0
    unreadable: int = 0
    answers: int = 0
    errors: int = 0
    breeds: Counter = field(default_factory=Counter)
    confidences: list[float] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)

    def add_line(self, line: str | bytes) -> None:
        try:
            record = json.loads(line)
            capture = record["captureData"]
            request, answer = (
                _decoded(capture["endpointInput"]),
                _decoded(capture["endpointOutput"]),
            )
        except (*UNPARSABLE, KeyError, TypeError, AttributeError, binascii.Error):
            self.unreadable += 1
            return
        moment = inference_time(record)
        if moment and (
            (self.since and moment < self.since) or (self.until and moment > self.until)
        ):
            return
        self.records += 1
        self.photos += photos_of(request)
        for breed, confidence in answers_of(answer):
            self.answers += 1
            if breed is None:
                self.errors += 1
            else:
                self.breeds[breed] += 1
                self.confidences.append(confidence)
