"""The image: read within a deadline, its type and pixel size from its header alone, and
checked against the endpoint's limits before an invocation is paid for."""

from __future__ import annotations

from invoker.config import INPUT_DEADLINE_SECONDS, Config
from invoker.errors import ApiError, bad_request, too_large

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The endpoint's limits (ml/inference.py), checked here from the image's header. A contract
# test keeps the two in step.
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_ASPECT_RATIO = 10
# JPEG frame headers (SOF0..SOF15 but DHT, JPG and DAC) carry the image's size.
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
READ_CHUNK_BYTES = 64 * 1024


def read_within(read, limit: int, deadline: float, clock, what: str) -> bytes:
    """Up to ``limit`` + 1 bytes from ``read(n)`` calls, until it returns b"": ``clock()``
    must stay before ``deadline`` between the calls, or the caller gets a 504."""
    chunks, size = [], 0
    while size <= limit:
        if clock() > deadline:
            raise ApiError(
                504, "input_timeout", f"{what} took longer than {INPUT_DEADLINE_SECONDS} s to read"
            )
        chunk = read(min(READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def image_type(data: bytes) -> str:
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if data.startswith(PNG_MAGIC):
        return "image/png"
    raise ApiError(415, "unsupported_media_type", "the image must be a JPEG or PNG")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first frame header, walking the marker segments."""
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            raise bad_request("the JPEG is damaged: a marker is missing where one belongs")
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            index += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            break
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        if length < 2:
            raise bad_request("the JPEG is damaged: a segment has an impossible length")
        if marker in JPEG_FRAME_MARKERS and index + 9 <= len(data):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + length
    raise bad_request("the JPEG has no frame header: it is not a complete image")


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk or a JPEG's frame header, without decoding."""
    if image_type(data) == "image/png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise bad_request("the PNG is damaged: it does not start with its IHDR header")
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return _jpeg_size(data)


def check_image(data: bytes, config: Config, what: str = "image") -> bytes:
    """Size, type and pixel dimensions within the endpoint's limits, from the header alone."""
    if not data:
        raise bad_request(f"{what} is empty")
    if len(data) > config.max_image_bytes:
        raise too_large(f"{what} is {len(data)} bytes; the limit is {config.max_image_bytes}")
    width, height = image_size(data)
    if not width or not height:
        raise bad_request(f"{what} claims a size of {width}x{height} pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise too_large(
            f"{what} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels"
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise bad_request(
            f"{what} is {width}x{height} pixels; sides more than {MAX_ASPECT_RATIO} times apart "
            "are refused"
        )
    return data
