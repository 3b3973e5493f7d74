"""Image type and size from the header alone, checked against the endpoint's limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from invoker.config import Config
from invoker.errors import ApiError
from invoker.images import check_image, image_size, read_within
from tests.images import generated

pytestmark = pytest.mark.unit


def api_error(call) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def png_claiming(width: int, height: int) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + ihdr + b"\x00" * 4


@pytest.mark.parametrize(
    ("width", "height", "format_"),
    [(8, 8, "JPEG"), (640, 480, "JPEG"), (3, 31, "PNG"), (1000, 100, "PNG")],
)
def test_image_size_comes_from_the_header(width, height, format_):
    assert image_size(generated(width, height, format_)) == (width, height)


def test_a_progressive_jpeg_header_is_read_too():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buffer, format="JPEG", progressive=True)
    assert image_size(buffer.getvalue()) == (300, 200)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (png_claiming(16, 1_048_576), 400, "16x1048576 pixels; sides more than 10 times apart"),
        (png_claiming(9000, 6000), 413, "9000x6000 pixels: send a smaller copy"),
        (png_claiming(0, 10), 400, "claims a size of 0x10 pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, 400, "does not start with its IHDR header"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 30, 400, "impossible length"),
        (b"\xff\xd8\xff\xd9", 400, "no frame header"),
        (b"\xff\xd8\xff\xe0\x00\x04abGARBAGE", 400, "a marker is missing"),
    ],
)
def test_images_over_the_endpoints_limits_are_refused_from_the_header(data, status, message):
    config = Config(endpoint_name="e")
    error = api_error(lambda: check_image(data, config))
    assert (error.status, message in error.message) == (status, True), error.message


def test_reading_stops_one_byte_past_the_limit():
    source = io.BytesIO(b"x" * 200_000)
    assert len(read_within(source.read, 100_000, 1.0, lambda: 0.0, "the url")) == 100_001


def test_reading_past_the_deadline_is_a_504():
    ticks = iter([0.0, 0.5, 2.0])
    source = io.BytesIO(b"x" * 200_000)
    error = api_error(lambda: read_within(source.read, 1_000_000, 1.0, lambda: next(ticks), "it"))
    assert (error.status, error.code) == (504, "input_timeout")
    assert error.message == "it took longer than 5 s to read"
