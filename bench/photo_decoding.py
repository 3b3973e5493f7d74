"""Decoding a phone photo as the endpoint does (reduced-scale JPEG decoding, for a 224 px
model: the shorter side kept at 256) against decoding it in full, in one run.

    .venv/bin/python -m bench.photo_decoding

Photos: 12 megapixels (4032 x 3024, most phones' default) and 48 megapixels (8064 x 6048, the
full resolution of a 48 MP sensor), JPEG at quality 92 with fine detail. Each is decoded 5 times
after a warm-up (the 48 MP one as s3_uri brings it: over the 5 MB inline limit); the median
of each, and the ratio. One JSON line.
"""

from __future__ import annotations

import io
import json
import logging

import numpy as np
from PIL import Image

from bench.timing import median_seconds
from ml import images
from ml.data import resize_size

logger = logging.getLogger("bench.photo_decoding")
SIZES = {"12MP": (4032, 3024), "48MP": (8064, 6048)}


def phone_photo(width: int, height: int) -> bytes:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x ^ y) & 255], axis=-1)
    pixels = (pixels + rng.integers(-20, 21, pixels.shape)).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def median_ms(encoded: images.EncodedImage, shorter_side: int | None) -> tuple[float, tuple]:
    size = images.decode_rgb(encoded, shorter_side).size  # also the warm-up
    seconds = median_seconds(lambda: images.decode_rgb(encoded, shorter_side), 5, warm_ups=0)
    return round(1000 * seconds, 1), size


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = {}
    for name, size in SIZES.items():
        encoded = images.check_image(phone_photo(*size), name, max_bytes=64 * 1024 * 1024)
        full_ms, _ = median_ms(encoded, None)
        reduced_ms, reduced_size = median_ms(encoded, resize_size(224))
        result[name] = {
            "bytes": len(encoded.data),
            "full_ms": full_ms,
            "reduced_ms": reduced_ms,
            "reduced_size": reduced_size,
            "ratio": round(full_ms / reduced_ms, 1),
        }
    logger.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
