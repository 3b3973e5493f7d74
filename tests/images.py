"""Images for requests: real files from the sample dataset, re-encoded as needed."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image


def sample_image(dataset: Path, class_folder: str, split: str = "test") -> Path:
    return sorted((dataset / split / class_folder).iterdir())[0]


def encode(path: Path, image_format: str) -> bytes:
    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format=image_format)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def generated(width: int, height: int, image_format: str) -> bytes:
    """A real image of the given size, encoded (JPEG or PNG): what a header check accepts."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(buffer, format=image_format)
    return buffer.getvalue()


# Small real images for tests that need an image but not a dog.
TINY_JPEG = generated(8, 8, "JPEG")
TINY_PNG = generated(8, 8, "PNG")
