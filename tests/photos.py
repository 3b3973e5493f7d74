"""Photos in the forms phones, cameras and browsers write them, each with its twin: the same
upright RGB pixels as a plain 8-bit PNG, made without the code under test.

Real encoders write every entry (Pillow's JPEG, MPO, PNG, WebP and AVIF writers, a 16-bit PNG
written byte by byte). A lossy entry's twin is its own pixels, decoded in full by Pillow and
turned upright by the EXIF table below, so a photo and its twin differ only in how the
endpoint decodes them.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, features

# EXIF 2.32, Orientation (tag 0x0112): how the stored rows and columns map to the upright
# picture; each value's transpose turns the stored pixels upright.
UPRIGHT = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# The transpose that stores an upright picture so that ``UPRIGHT`` turns it back.
STORED = {
    **{n: t for n, t in UPRIGHT.items() if n not in (6, 8)},
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}
ORIENTATION = 0x0112
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class Photo:
    name: str
    data: bytes  # the file as its writer made it
    twin: bytes  # the same upright pixels, an 8-bit RGB PNG
    content_type: str  # what a client would declare
    full_scale: bool  # decoded in full by the endpoint (False: a JPEG its DCT may scale down)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def saved(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    """Pillow's full decode of a file's first frame, as stored (no orientation applied)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def png16_rgb(pixels: np.ndarray) -> bytes:
    """An RGB PNG with 16-bit samples (Pillow writes none): each 8-bit value v as v * 257."""
    height, width, _ = pixels.shape
    wide = (pixels.astype(">u2") * 257).tobytes()
    rows = b"".join(b"\x00" + wide[y * width * 6 : (y + 1) * width * 6] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def on_white(rgba: Image.Image) -> Image.Image:
    """Alpha compositing over white, in numpy (not the code under test's way)."""
    pixels = np.asarray(rgba.convert("RGBA"), dtype=np.float64)
    alpha = pixels[..., 3:] / 255
    blended = pixels[..., :3] * alpha + 255 * (1 - alpha)
    return Image.fromarray(np.round(blended).astype(np.uint8), "RGB")


def with_orientation(picture: Image.Image, orientation: int) -> Photo:
    stored = picture if STORED[orientation] is None else picture.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    data = saved(stored, "JPEG", quality=92, exif=exif)
    upright = decoded(data)
    if UPRIGHT[orientation] is not None:
        upright = upright.transpose(UPRIGHT[orientation])
    return Photo(f"exif-orientation-{orientation}", data, png(upright), "image/jpeg", False)


def lossy(name: str, data: bytes, content_type: str, full_scale: bool) -> Photo:
    return Photo(name, data, png(decoded(data)), content_type, full_scale)


def corpus(picture: Image.Image) -> list[Photo]:
    """``picture`` (RGB) in every form this endpoint promises to read."""
    rgb = np.asarray(picture.convert("RGB"))
    grey = picture.convert("L")
    alpha = Image.linear_gradient("L").resize(picture.size).point(lambda v: 64 + v * 3 // 4)
    cut_out = picture.convert("RGBA")
    cut_out.putalpha(alpha)
    palette = picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette_alpha = palette.copy()
    palette_alpha.info["transparency"] = 0
    second = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # a gain map's stand-in
    photos = [
        lossy("jpeg", saved(picture, "JPEG", quality=92), "image/jpeg", False),
        lossy("jpeg-as-image/jpg", saved(picture, "JPEG", quality=92), "image/jpg", False),
        lossy("jpeg-progressive", saved(picture, "JPEG", progressive=True), "image/pjpeg", False),
        lossy("jpeg-cmyk", saved(picture.convert("CMYK"), "JPEG"), "image/jpeg", False),
        lossy(
            "mpo-primary-and-gain-map",
            saved(picture, "MPO", save_all=True, append_images=[second], quality=92),
            "image/jpeg",
            False,
        ),
        *(with_orientation(picture, orientation) for orientation in range(1, 9)),
        Photo("png", saved(picture, "PNG"), png(picture), "image/png", True),
        Photo("png-grey", saved(grey, "PNG"), png(grey), "application/octet-stream", True),
        Photo(
            "png-16-bit-grey",
            saved(Image.fromarray(np.asarray(grey).astype(np.uint16) * 257), "PNG"),
            png(grey),
            "image/png",
            True,
        ),
        Photo("png-16-bit-rgb", png16_rgb(rgb), png(picture), "image/png", True),
        Photo("png-alpha", saved(cut_out, "PNG"), png(on_white(cut_out)), "image/png", True),
        Photo("png-palette", saved(palette, "PNG"), png(palette), "image/png", True),
        Photo(
            "png-palette-alpha",
            saved(palette_alpha, "PNG", transparency=0),
            png(on_white(palette_alpha)),
            "image/png",
            True,
        ),
        lossy("webp", saved(picture, "WEBP", quality=90), "image/webp", True),
        Photo(
            "webp-lossless",
            saved(picture, "WEBP", lossless=True),
            png(picture),
            "application/x-image",
            True,
        ),
    ]
    if features.check("avif"):
        photos.append(lossy("avif", saved(picture, "AVIF", quality=90), "image/avif", True))
    return photos
