"""ml/images.py: every form phones, cameras and browsers write decodes to the picture a person
sees (its twin's pixels exactly), and what it cannot read is refused with what to send."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ml import images
from ml.errors import InputError
from tests.client_requests import HEIC_HEADER
from tests.photos import corpus

pytestmark = pytest.mark.unit


def picture(width: int = 320, height: int = 240) -> Image.Image:
    """Colour, gradients and edges in every direction: any flip or rotation changes it."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x * y) % 256], axis=-1)
    pixels[: height // 3, : width // 4] = (250, 20, 20)  # a red corner, top left
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


PHOTOS = corpus(picture())


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda photo: photo.name)
def test_every_form_decodes_to_its_twins_pixels(photo):
    decoded = images.decode_rgb(images.check_image(photo.data, photo.name))
    assert decoded.mode == "RGB"
    assert np.array_equal(np.asarray(decoded), pixels(photo.twin))


def test_the_corpus_covers_what_the_issue_names():
    names = {photo.name for photo in PHOTOS}
    assert {f"exif-orientation-{n}" for n in range(1, 9)} <= names
    assert {"mpo-primary-and-gain-map", "jpeg-cmyk", "jpeg-progressive", "webp"} <= names
    assert {"png-16-bit-grey", "png-16-bit-rgb", "png-palette-alpha", "png-grey"} <= names
    formats = {images.check_image(photo.data, photo.name).format for photo in PHOTOS}
    assert {"JPEG", "MPO", "PNG", "WEBP"} <= formats


def test_16_bit_samples_are_scaled_not_clipped():
    grey = np.full((4, 4), 32896, dtype=np.uint16)  # 128 * 257: mid-grey
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")
    decoded = images.decode_rgb(images.check_image(buffer.getvalue(), "grey"))
    assert np.asarray(decoded)[0, 0].tolist() == [128, 128, 128]


def test_a_large_jpeg_decodes_at_a_reduced_scale_keeping_the_resize():
    buffer = io.BytesIO()
    picture(4000, 3000).save(buffer, format="JPEG")
    encoded = images.check_image(buffer.getvalue(), "photo")
    reduced = images.decode_rgb(encoded, shorter_side=256)
    assert min(reduced.size) >= 256
    assert reduced.size == (500, 375)  # 1/8: the smallest scale with a side of 256 or more
    assert images.decode_rgb(encoded).size == (4000, 3000)


def refusal(data: bytes) -> InputError:
    with pytest.raises(InputError) as raised:
        images.check_image(data, "the photo")
    return raised.value


def test_a_heic_photo_is_refused_with_how_to_send_it():
    error = refusal(HEIC_HEADER)
    assert error.status == 415
    assert "HEIC/HEIF photo" in error.message
    assert "Most Compatible" in error.message


def test_avif_without_a_decoder_is_refused_not_damaged(monkeypatch):
    avif = next(photo.data for photo in PHOTOS if photo.name == "avif")
    monkeypatch.setattr(images, "DECODED_FORMATS", ("JPEG", "PNG", "WEBP"))
    error = refusal(avif)
    assert (error.status, error.message) == (
        415,
        "the photo is AVIF, which this endpoint's Pillow cannot decode: send JPEG",
    )


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"%PDF-1.7\n", 415, "not in a format this endpoint reads: send a JPEG, PNG, WebP or AVIF"),
        (b"GIF89a" + b"\x00" * 32, 415, "not in a format this endpoint reads"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, 400, "damaged JPEG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 16, 400, "damaged"),
        (b"\x00" * (images.MAX_IMAGE_BYTES + 1), 413, "send a smaller copy"),
    ],
)
def test_what_is_not_a_photo_here_is_refused_by_what_it_is(data, status, message):
    error = refusal(data)
    assert error.status == status
    assert message in error.message
