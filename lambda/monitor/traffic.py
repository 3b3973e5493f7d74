"""One window of captured traffic, read record by record and summed up against the baseline.

A capture record (developer guide, "Capture data from real-time endpoint") is one JSON line:
``captureData.endpointInput`` (the request: ``observedContentType``, ``data``, ``encoding``
BASE64 for an image) and ``endpointOutput`` (the answer: the endpoint's JSON, ``{"predictions":
[{"breed", "probability"}, ...]}``, as text or base64). An answer without predictions (the
model's error) counts as an error; a line that is not such a record is counted as unreadable.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Observation:
    """One captured request and answer: the top-1 breed and its probability (None: the answer
    was an error), the image's format (None: not an image the endpoint reads) and its shorter
    side in pixels."""

    breed: str | None
    confidence: float | None
    image_format: str | None
    short_side: int | None


def _decoded(payload: dict) -> bytes:
    data = payload["data"]
    if payload.get("encoding") == "BASE64":
        return base64.b64decode(data, validate=True)
    return data.encode("utf-8") if isinstance(data, str) else b""


def _image_of(data: bytes) -> tuple[str | None, int | None]:
    try:
        kind, (width, height) = image_type(data), image_size(data)
    except ApiError:
        return None, None
    return FORMAT_NAMES.get(kind), min(width, height)


def _top_answer(data: bytes) -> tuple[str | None, float | None]:
    try:
        best = json.loads(data)["predictions"][0]
        breed, probability = str(best["breed"]), float(best["probability"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None, None
    if not 0.0 <= probability <= 1.0:
        return None, None
    return breed, probability


def observation_of(line: str | bytes) -> Observation | None:
    """The record's observation, or None for a line that is not a capture record."""
    try:
        return observation_of_record(json.loads(line))
    except (ValueError, RecursionError):  # RecursionError: JSON nested past Python's limit
        return None


def observation_of_record(record: object) -> Observation | None:
    """The observation of a record already parsed, or None for what is not a capture record."""
    try:
        capture = record["captureData"]
        request, answer = _decoded(capture["endpointInput"]), _decoded(capture["endpointOutput"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None
    image_format, short_side = _image_of(request)
    breed, confidence = _top_answer(answer)
    return Observation(breed, confidence, image_format, short_side)


@dataclass
class Window:
    """The observations of one period, added up as they are read."""

    records: int = 0
    unreadable: int = 0
    errors: int = 0
    breeds: Counter = field(default_factory=Counter)
    confidences: list[float] = field(default_factory=list)
    images: list[tuple[str, int | None]] = field(default_factory=list)  # format, shorter side

    def add_line(self, line: str | bytes) -> None:
        try:
            self.add_record(json.loads(line))
        except (ValueError, RecursionError):
            self.unreadable += 1

    def add_record(self, record: object) -> None:
        observation = observation_of_record(record)
        if observation is None:
            self.unreadable += 1
            return
        self.records += 1
        self.images.append((observation.image_format or "unreadable", observation.short_side))
        if observation.breed is None:
            self.errors += 1
        else:
            self.breeds[observation.breed] += 1
            self.confidences.append(observation.confidence)

    def formats(self) -> dict[str, int]:
        return dict(Counter(name for name, _ in self.images))
