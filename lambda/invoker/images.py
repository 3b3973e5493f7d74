"""The image: read within a deadline, its format and pixel size from its header alone (JPEG,
multi-picture JPEG, PNG, WebP, AVIF; HEIC refused with how to send it), and checked against
the endpoint's limits before an invocation is paid for."""

from __future__ import annotations

from invoker.config import INPUT_DEADLINE_SECONDS, Config
from invoker.errors import ApiError, bad_request, too_large

# The endpoint's limits (ml/images.py), checked here from the image's header. A contract
# test keeps the two in step.
MAX_IMAGE_PIXELS = 8192 * 6144
MAX_ASPECT_RATIO = 10
# JPEG frame headers (SOF0..SOF15 but DHT, JPG and DAC) carry the image's size.
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
READ_CHUNK_BYTES = 64 * 1024
# ISO base media file brands (libheif's heif_brands.h): AVIF, which the endpoint decodes, and
# HEIC/HEIF, which it does not.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
FORMATS_TEXT = "send a JPEG, PNG, WebP or AVIF photo"
HEIF_ADVICE = (
    "is a HEIC/HEIF photo, which the classifier does not decode: send it as JPEG (on an "
    "iPhone, Settings > Camera > Formats > Most Compatible; uploads from its browser are "
    "converted)"
)
TOO_BIG_ADVICE = "send a smaller copy (at most 50 megapixels and 4.5 MB; the page shrinks photos)"


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


def image_type(data: bytes, what: str = "the image") -> str:
    """The format the bytes announce (the declared content type is only a hint): a 415 naming
    what to send for anything the endpoint does not decode."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":  # ISO base media file: the major brand, then compatible ones
        brands = {data[i : i + 4] for i in range(8, min(len(data), 64), 4)}
        if brands & AVIF_BRANDS:
            return "image/avif"
        if brands & HEIF_BRANDS:
            raise ApiError(415, "unsupported_media_type", f"{what} {HEIF_ADVICE}")
    raise ApiError(
        415,
        "unsupported_media_type",
        f"{what} is not in a format the classifier reads: {FORMATS_TEXT}",
    )


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


def _webp_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first chunk of a WebP (the RIFF container's VP8, VP8L or VP8X;
    developers.google.com/speed/webp/docs/riff_container)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise bad_request("the WebP is damaged: its first chunk has no size")


def _boxes(data: bytes, start: int, end: int):
    """(type, body start, body end) of each ISO base media box between start and end."""
    while start + 8 <= end:
        size, kind = int.from_bytes(data[start : start + 4], "big"), data[start + 4 : start + 8]
        header = 8
        if size == 1 and start + 16 <= end:  # a 64-bit size follows the type
            size, header = int.from_bytes(data[start + 8 : start + 16], "big"), 16
        elif size == 0:  # to the end of the file
            size = end - start
        if size < header or start + size > end:
            raise bad_request("the AVIF is damaged: a box overruns its container")
        yield kind, start + header, start + size
        start += size


def _avif_size(data: bytes) -> tuple[int, int]:
    """The largest image spatial extent (``ispe``) among the item properties
    (meta > iprp > ipco): at least the primary image's size, whatever its grid or rotation."""
    sizes = []
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for child, child_start, child_end in _boxes(data, start + 4, end):  # meta is a FullBox
            if child != b"iprp":
                continue
            for group, group_start, group_end in _boxes(data, child_start, child_end):
                if group != b"ipco":
                    continue
                for prop, prop_start, _ in _boxes(data, group_start, group_end):
                    if prop == b"ispe" and prop_start + 12 <= len(data):
                        width = int.from_bytes(data[prop_start + 4 : prop_start + 8], "big")
                        height = int.from_bytes(data[prop_start + 8 : prop_start + 12], "big")
                        sizes.append((width, height))
    if not sizes:
        raise bad_request("the AVIF is damaged: it has no image size (ispe)")
    return max(sizes, key=lambda size: size[0] * size[1])


def image_size(data: bytes, what: str = "the image") -> tuple[int, int]:
    """(width, height) from the image's header, without decoding a pixel."""
    kind = image_type(data, what)
    if kind == "image/png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise bad_request("the PNG is damaged: it does not start with its IHDR header")
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if kind == "image/webp":
        return _webp_size(data)
    if kind == "image/avif":
        return _avif_size(data)
    return _jpeg_size(data)


def check_image(data: bytes, config: Config, what: str = "image") -> bytes:
    """Size, type and pixel dimensions within the endpoint's limits, from the header alone."""
    if not data:
        raise bad_request(f"{what} is empty")
    if len(data) > config.max_image_bytes:
        raise too_large(
            f"{what} is {len(data)} bytes; the limit is {config.max_image_bytes}: {TOO_BIG_ADVICE}"
        )
    width, height = image_size(data, what)
    if not width or not height:
        raise bad_request(f"{what} claims a size of {width}x{height} pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise too_large(f"{what} is {width}x{height} pixels: {TOO_BIG_ADVICE}")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise bad_request(
            f"{what} is {width}x{height} pixels; sides more than {MAX_ASPECT_RATIO} times apart "
            "are refused"
        )
    return data
