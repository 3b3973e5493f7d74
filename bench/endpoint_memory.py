"""The endpoint handler's peak memory for the largest request it accepts.

    .venv/bin/python -m bench.endpoint_memory

The largest accepted request: an 8192 x 6144 image (the per-image limit, a 50-megapixel phone
photo's size) and a 4096 x 3072 one, together under the per-request pixel budget, sent as
JSON as PNG (decoded in full, where a JPEG would decode at a reduced scale), highly
compressible so they fit InvokeEndpoint's 6 MB. Each measurement runs in a
fresh process (ResNet50, 133 classes, CPU): peak resident memory (ru_maxrss) after loading
the model, then after input_fn + predict_fn + output_fn. For comparison, the same images
decoded all at once before transforming; and what the handler accepted before it bounded
memory by the request: 32 such images in one body (under 6 MB), all decoded first. One JSON
line: the extra peak of each over the loaded model, in MB, and the ratios.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger("bench.endpoint_memory")
REPO_ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import base64, io, json, resource, sys, tempfile
from pathlib import Path
import torch
from PIL import Image
from ml import images as endpoint_images
from ml import inference, payloads
from ml.artifacts import write_model_artifacts
from ml.model import build_model

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def report():
    result = {"baseline_mb": round(baseline), "peak_mb": round(peak_mb()), "body_bytes": len(body)}
    print(json.dumps(result))

torch.set_num_threads(2)
model_dir = Path(tempfile.mkdtemp()) / "model"
names = [f"breed {i}" for i in range(133)]
config = {"arch": "resnet50", "image_size": 224, "num_classes": 133}
write_model_artifacts(model_dir, build_model("resnet50", 133), config, names, [], {})
loaded = inference.model_fn(str(model_dir))
def png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode()

if sys.argv[1] == "before":
    sent = [png(4096, 4096)] * 32
else:
    sent = [png(8192, 6144), png(4096, 3072)]
body = json.dumps({"images": sent})
assert len(body) < 6291456, len(body)
loaded.model(torch.zeros(2, 3, 224, 224))  # allocator warm-up, as after the first request
baseline = peak_mb()
if sys.argv[1] == "before":  # the old handler: no request budget, every image decoded first
    encoded = [
        endpoint_images.check_image(payloads.base64_image(b, "image"), "image")
        for b in json.loads(body)["images"]
    ]
    images = [inference.decode_rgb(image) for image in encoded]
    tensor = torch.stack([loaded.transform(image) for image in images])
    with torch.inference_mode():
        loaded.model(tensor)
    report()
    sys.exit()
request = inference.input_fn(body, "application/json")
if sys.argv[1] == "all-at-once":
    images = [inference.decode_rgb(image) for image in request.images]
    tensor = torch.stack([loaded.transform(image) for image in images])
    with torch.inference_mode():
        loaded.model(tensor)
else:
    inference.output_fn(inference.predict_fn(request, loaded), "application/json")
report()
"""


def measure(mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bounded = measure("one-at-a-time")
    unbounded = measure("all-at-once")
    before = measure("before")
    bounded_extra = bounded["peak_mb"] - bounded["baseline_mb"]
    unbounded_extra = unbounded["peak_mb"] - unbounded["baseline_mb"]
    before_extra = before["peak_mb"] - before["baseline_mb"]
    logger.info(
        "%s",
        json.dumps(
            {
                "request": "8192x6144 and 4096x3072 PNG in JSON",
                "body_bytes": bounded["body_bytes"],
                "model_loaded_mb": bounded["baseline_mb"],
                "handler_extra_peak_mb": bounded_extra,
                "all_at_once_extra_peak_mb": unbounded_extra,
                "ratio": round(unbounded_extra / max(bounded_extra, 1), 2),
                "before_32_images_body_bytes": before["body_bytes"],
                "before_32_images_extra_peak_mb": before_extra,
                "before_ratio": round(before_extra / max(bounded_extra, 1), 1),
            }
        ),
    )


if __name__ == "__main__":
    main()
