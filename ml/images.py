"""Photos as phones, cameras and browsers make them, checked from their header and decoded to
the RGB picture a person sees.

- Formats: JPEG (baseline, progressive, CMYK, and JPEGs with a multi-picture segment, which
  Pillow calls MPO: phones' HDR and Ultra HDR photos, many cameras; the primary picture is the
  one decoded), PNG in every mode, WebP, and AVIF where Pillow decodes it. The bytes decide,
  whatever content type the request declared; only these decoders ever parse a request. HEIC
  is refused with how to send it as JPEG (``HEIF_ADVICE``).
- What is seen: the EXIF orientation applied (a portrait photo stored sideways is upright),
  transparency composited on white, 16-bit samples scaled to 8 bits (not clipped).
- Limits, from the header, before a pixel is decoded: bytes, pixels, and how far apart the
  sides are. A large JPEG is decoded at a reduced scale (its DCT scaling, 1/2 to 1/8) when the
  result still holds every pixel the model's resize keeps.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from ml.errors import InputError

# The Pillow decoders a request's bytes may reach (``Image.open`` tries no other): JPEG's also
# opens multi-picture JPEGs (format MPO). AVIF only where this Pillow's wheel carries libavif
# (11.3 and later; 11.2.1 has the plugin without it).
Image.init()
DECODED_FORMATS = ("JPEG", "PNG", "WEBP") + (("AVIF",) if features.check("avif") else ())
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# A full-resolution photo of a 48-50 megapixel phone camera (8064 x 6048, 8160 x 6120), and the
# 24 megapixel JPEGs iPhones save by default; a large JPEG decodes at a reduced scale.
MAX_IMAGE_PIXELS = 8192 * 6144
# Sides further apart than this are no photo: a 16 x 1,048,576 PNG passes the pixel limit, and
# resizing its shorter side would ask for gigabytes.
MAX_ASPECT_RATIO = 10
# EXIF's Orientation tag (EXIF 2.32, section 4.6.4 A)
ORIENTATION_TAG = 0x0112
BACKGROUND = (255, 255, 255)
FORMATS_TEXT = "send a JPEG, PNG, WebP or AVIF photo"
# HEIC is not decoded: the only maintained decoder wheel (pillow-heif) is GPLv2, as it bundles
# x265, and HEVC is patent-licensed. iPhones can save JPEG, and their browsers convert HEIC to
# JPEG on upload.
HEIF_ADVICE = (
    "is a HEIC/HEIF photo, which this endpoint does not decode: send it as JPEG (on an iPhone, "
    "Settings > Camera > Formats > Most Compatible; uploads from its browser are converted)"
)
TOO_BIG_ADVICE = "send a smaller copy (at most 50 megapixels and 5 MB), or pass it by s3_uri"


@dataclass(frozen=True)
class EncodedImage:
    """An image whose header passed the limits; decoded only when its turn comes."""

    data: bytes
    what: str
    width: int
    height: int
    format: str

    @property
    def pixels(self) -> int:
        return self.width * self.height


def signature(data: bytes) -> str | None:
    """The format a file's first bytes announce (JPEG, PNG, WEBP, AVIF, HEIF), if any."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":  # ISO base media file: the major brand, then compatible ones
        brands = {data[i : i + 4] for i in range(8, min(len(data), 64), 4)}
        if brands & {b"avif", b"avis"}:
            return "AVIF"
        if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
            return "HEIF"
    return None


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=DECODED_FORMATS)


def check_image(
    data: bytes, what: str, max_bytes: int = MAX_IMAGE_BYTES, advice: str = TOO_BIG_ADVICE
) -> EncodedImage:
    """Format and size from the header alone: nothing is decoded before every limit holds.
    ``advice`` ends a refusal for size: what the sender can do instead."""
    if len(data) > max_bytes:
        raise InputError(413, f"{what} is {len(data)} bytes; the limit is {max_bytes}: {advice}")
    try:
        # Pillow warns of sizes past its own bomb limit: far past ours, so an error here.
        with (
            warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning),
            _open(data) as image,
        ):
            image_format, (width, height) = image.format, image.size
    except UnidentifiedImageError as error:
        announced = signature(data)
        if announced in DECODED_FORMATS:
            raise InputError(400, f"{what} is a damaged {announced} image") from error
        if announced == "HEIF":
            raise InputError(415, f"{what} {HEIF_ADVICE}") from error
        if announced == "AVIF":
            raise InputError(
                415, f"{what} is AVIF, which this endpoint's Pillow cannot decode: send JPEG"
            ) from error
        message = f"{what} is not in a format this endpoint reads: {FORMATS_TEXT}"
        raise InputError(415, message) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InputError(413, f"{what} has too many pixels: {advice}") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InputError(400, f"{what} is a damaged or truncated image: {error}") from error
    if width * height > MAX_IMAGE_PIXELS:
        raise InputError(413, f"{what} is {width}x{height} pixels: {advice}")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise InputError(
            400,
            f"{what} is {width}x{height} pixels; sides more than {MAX_ASPECT_RATIO} times apart "
            "are refused",
        )
    return EncodedImage(data, what, width, height, image_format)


def decode_rgb(image: EncodedImage, shorter_side: int | None = None) -> Image.Image:
    """The picture as a person sees it, in RGB: upright, on white, 8 bits a sample. With
    ``shorter_side``, a JPEG may come out smaller, never with its shorter side below it."""
    try:
        with _open(image.data) as opened:
            if shorter_side and opened.format in ("JPEG", "MPO"):
                opened.draft("RGB", _draft_size(opened.size, shorter_side))
            opened.load()
            # In place: a 50-megapixel photo is 150 MB decoded, and a copy would double it.
            ImageOps.exif_transpose(opened, in_place=True)
            return to_rgb(opened)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InputError(400, f"{image.what} is a damaged or truncated image: {error}") from error


def _draft_size(size: tuple[int, int], shorter_side: int) -> tuple[int, int]:
    """The smallest size ``draft`` may decode to: the shorter side kept at ``shorter_side``."""
    width, height = size
    scale = min(1.0, shorter_side / min(width, height))
    return max(1, round(width * scale + 0.5)), max(1, round(height * scale + 0.5))


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit grey scaled (Pillow's own conversion clips it), transparency
    composited on white (a cut-out dog on a transparent background is a dog on white)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        samples = np.asarray(image, dtype=np.int64).clip(0, 65535) >> 8
        return Image.fromarray(samples.astype(np.uint8), mode="L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")
