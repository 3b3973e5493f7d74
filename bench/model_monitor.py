"""How fast the model monitor reads captured traffic: capture lines per second through the
monitor's parsing and figures, for photos of the sizes people send, and what that makes of an
hour's traffic, in one run.

    .venv/bin/python -m bench.model_monitor [--records 400]

Each record is a data capture line as SageMaker writes it (the photo as base64, the answer
as JSON); the lines are read by ``monitor.traffic.Window`` (JSON, base64, the photo's header,
the answer) and measured by ``monitor.report.measure`` against a 133-breed baseline, as the
function does for each line it lists and reads from S3 (S3's transfer is not in these
figures: on Lambda at 1024 MB it is tens of MB/s). One JSON line per photo size.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import random
import sys
import time

from PIL import Image

from local_stack.serving.lambda_runtime import LAMBDA_DIR

logger = logging.getLogger("bench.model_monitor")

BREEDS = [f"breed {number}" for number in range(133)]
TRAINING = [30 + (number * 7) % 50 for number in range(133)]
# Photos as they arrive: a shrunk browser upload, and a photo near the invoker's 4.5 MB.
SIZES = {"640x480": (640, 480), "2000x1500": (2000, 1500)}


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    noise = random.Random(1).randbytes(size[0] * size[1] * 3)  # photo-like: not compressible
    Image.frombytes("RGB", size, noise).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def capture_line(image: bytes, breed: str) -> bytes:
    """A data capture record: the request as base64, the answer as JSON text."""
    answer = json.dumps({"predictions": [{"breed": breed, "probability": 0.9}]})
    capture = {
        "endpointInput": {"data": base64.b64encode(image).decode(), "encoding": "BASE64"},
        "endpointOutput": {"data": answer, "encoding": "JSON"},
    }
    metadata = {"inferenceTime": "2026-12-07T14:00:00.000000Z"}
    return json.dumps({"captureData": capture, "eventMetadata": metadata}).encode()


def training_baseline() -> dict:
    return {
        "schema": 1,
        "classes": BREEDS,
        "training": TRAINING,
        "test": {"low_confidence_below": 0.5},
        "images": {
            "formats": {"JPEG": 1},
            "short_side_edges": [128, 256, 512, 1024, 2048],
            "short_side": [0, 0, 1, 1, 1, 1],
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=400)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(LAMBDA_DIR))
    from monitor.report import measure
    from monitor.traffic import Window

    generator = random.Random(0)
    for label, size in SIZES.items():
        image = jpeg(size)
        lines = [
            capture_line(image, breed)
            for breed in generator.choices(BREEDS, weights=TRAINING, k=args.records)
        ]
        started = time.perf_counter()
        window = Window()
        for line in lines:
            window.add_line(line)
        measure(window, training_baseline(), 20)
        seconds = time.perf_counter() - started
        per_second = args.records / seconds
        megabytes = sum(map(len, lines)) / 1e6
        print(
            json.dumps(
                {
                    "photo": label,
                    "photo_bytes": len(image),
                    "records": args.records,
                    "records_per_s": round(per_second),
                    "mb_per_s": round(megabytes / seconds, 1),
                    # 10 requests a second, a fifth captured: 7,200 records an hour.
                    "hour_at_10_rps_20pct_s": round(7200 / per_second, 1),
                }
            )
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
