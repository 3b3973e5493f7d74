"""The endpoint handler's time for a phone photo against a small one, int8 and fp32, in one run.

    .venv/bin/python -m bench.photo_handler

A ResNet50 with 133 classes at 224 px (random weights, int8 quantized on random calibration
images, as ``bench.serving_startup`` builds it) answers one JPEG per request through the
handler's own functions (``input_fn``, ``predict_fn``, ``output_fn``), in this process with
torch's own threads: a 4000 x 3000 photo (12 MP) and a 256 x 256 one, 7 requests each after a
warm-up; the median of each, and the ratio. The large photo is decoded at a reduced DCT
scale for the model's resize (``ml.images.decode_rgb``), EXIF orientation applied. The same
12 MP picture as PNG, which has no reduced-scale decoding, is too large to send inline (5 MB):
it is timed from the checked image on, as an ``s3_uri`` request brings it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from bench.serving_startup import model_dirs
from bench.timing import median_seconds
from ml import images, inference

logger = logging.getLogger("bench.photo_handler")
SIZES = {"12 MP (4000x3000)": (4000, 3000), "256 px": (256, 256)}


def photo(width: int, height: int, image_format: str = "JPEG") -> bytes:
    """A smooth picture with some grain and an EXIF orientation, as a phone saves it."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], -1)
    pixels = (pixels + rng.integers(-10, 11, pixels.shape)).clip(0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees, as a phone held upright writes it
    buffer = io.BytesIO()
    options = {"quality": 90} if image_format == "JPEG" else {}
    Image.fromarray(pixels, "RGB").save(buffer, format=image_format, exif=exif, **options)
    return buffer.getvalue()


def median_ms(loaded, body: bytes) -> float:
    def request() -> None:
        if body.startswith(b"\x89PNG"):
            checked = images.check_image(body, "the S3 object", max_bytes=64 * 1024 * 1024)
            decoded = inference.DecodedRequest([checked], {}, False)
        else:
            decoded = inference.input_fn(body, "image/jpeg")
        inference.output_fn(inference.predict_fn(decoded, loaded), "application/json")

    return round(1000 * median_seconds(request, 7), 1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bodies = {name: photo(*size) for name, size in SIZES.items()}
    bodies["12 MP PNG"] = photo(*SIZES["12 MP (4000x3000)"], "PNG")
    with tempfile.TemporaryDirectory() as tmp:
        dirs = model_dirs(Path(tmp))
        for precision in ("int8", "fp32"):
            os.environ["INFERENCE_PRECISION"] = precision
            loaded = inference.model_fn(str(dirs[precision]))
            times = {name: median_ms(loaded, body) for name, body in bodies.items()}
            small = times["256 px"]
            row = {
                "precision": precision,
                **{f"{name}, {len(bodies[name]) / 1e6:.1f} MB, ms": t for name, t in times.items()},
                "12 MP JPEG / 256 px": round(times["12 MP (4000x3000)"] / small, 2),
                "12 MP PNG / 256 px": round(times["12 MP PNG"] / small, 2),
            }
            logger.info("%s", json.dumps(row))


if __name__ == "__main__":
    main()
