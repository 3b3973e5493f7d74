"""Capture records as SageMaker data capture writes them, for the monitor's tests."""

from __future__ import annotations

import base64
import io
import json
import uuid
from datetime import UTC, datetime

from PIL import Image

from mlops import specs


def photo(size: tuple[int, int] = (320, 240), kind: str = "JPEG", shade: int = 128) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (shade, shade // 2, 40)).save(buffer, format=kind)
    return buffer.getvalue()


def record(
    image: bytes,
    answer: dict | bytes,
    when: datetime | None = None,
    content_type: str = "image/jpeg",
    inference_id: str | None = None,
) -> str:
    """One capture line: the request as base64, the answer as the endpoint's JSON text."""
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": base64.b64encode(image).decode(),
                    "encoding": "BASE64",
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": body.decode("utf-8", "replace"),
                    "encoding": "JSON",
                },
            },
            "eventMetadata": {
                "eventId": str(uuid.uuid4()),
                "inferenceId": inference_id or uuid.uuid4().hex,
                "inferenceTime": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
            "eventVersion": "0",
        }
    )


def answer(breed: str, probability: float) -> dict:
    return {"predictions": [{"breed": breed, "probability": probability}]}


def baseline(
    classes: list[str],
    training: list[int],
    images: dict | None = None,
    predicted: list[int] | None = None,
) -> dict:
    """A baseline as ml/baseline.py writes one, with a test split answered confidently: by
    default its answers per breed in the training mix (a tenth of it)."""
    predicted = predicted or [round(count / 10) for count in training]
    return {
        "schema": 1,
        "classes": classes,
        "training": training,
        "test": {
            "count": sum(predicted),
            "predicted": predicted,
            "confidence_histogram": [0] * 10 + [10] * 10,
            "mean_confidence": 0.8,
            "low_confidence_below": 0.55,
            "low_confidence_share": 0.1,
        },
        "images": images
        or {
            "formats": {"JPEG": 990, "MPO": 10},
            "short_side_edges": [128, 256, 512, 1024, 2048],
            "short_side": [0, 500, 490, 10, 0, 0],
        },
    }


def put_captures(
    s3, name: str, lines: list[str], when: datetime, variant: str = "AllTraffic"
) -> None:
    """``lines`` as one capture file of stack ``name``'s endpoint variant (bucket
    ``<name>-data``, capture prefix ``capture/``), in the hour folder of ``when``."""
    put_capture_file(s3, f"s3://{name}-data/capture/", name, variant, lines, when)


def put_capture_file(
    s3, capture_uri: str, endpoint: str, variant: str, lines: list[str], when: datetime
) -> None:
    """``lines`` as one capture file under ``capture_uri`` (s3://bucket/prefix/), in the
    variant's hour folder of ``when``, as data capture writes it."""
    bucket, prefix = specs.parse_s3_url(capture_uri, "capture_uri")
    key = f"{prefix}{endpoint}/{variant}/{when:%Y/%m/%d/%H}/{uuid.uuid4().hex}.jsonl"
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())
