"""Serving latency and throughput on the SageMaker serving stack vs the bare forward pass.

    .venv/bin/python -m bench.serving_latency --arch resnet50 --image-size 224

Builds a model.tar.gz (random weights, 133 classes: the weights do not change the cost), serves
it with ``local_stack.serving.endpoint`` (sagemaker-pytorch-inference + TorchServe, one worker)
and sends JPEG requests through boto3's sagemaker-runtime client: batch 1 as ``image/jpeg``,
batch 16 as a JSON list. The bare forward pass is the same model called in-process on
preprocessed tensors.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import boto3
import numpy as np
import torch
from PIL import Image

from local_stack.serving.endpoint import LocalEndpoint
from ml.artifacts import write_model_artifacts
from ml.model import build_model
from ml.package import build_model_archive

logger = logging.getLogger("bench.serving_latency")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
    }


def jpeg(size: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bare_forward(model: torch.nn.Module, image_size: int, batch: int, repeats: int) -> list[float]:
    model = model.eval().to(memory_format=torch.channels_last)
    tensor = torch.randn(batch, 3, image_size, image_size).to(memory_format=torch.channels_last)
    timings = []
    with torch.inference_mode():
        model(tensor)  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            model(tensor)
            timings.append(time.perf_counter() - started)
    return timings


def served(runtime, body: bytes, content_type: str, repeats: int) -> list[float]:
    timings = []
    runtime.invoke_endpoint(EndpointName="bench", Body=body, ContentType=content_type)
    for _ in range(repeats):
        started = time.perf_counter()
        runtime.invoke_endpoint(EndpointName="bench", Body=body, ContentType=content_type)[
            "Body"
        ].read()
        timings.append(time.perf_counter() - started)
    return timings


def summary(timings: list[float], batch: int) -> dict:
    return {
        **percentiles([t / batch for t in timings]),
        "images_per_s": round(batch * len(timings) / sum(timings), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50", help="architecture")
    parser.add_argument("--image-size", type=int, default=224, help="model input size")
    parser.add_argument("--repeats", type=int, default=20, help="timed requests at batch 1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = build_model(args.arch, num_classes=133)
    results = {"arch": args.arch, "image_size": args.image_size, "threads": torch.get_num_threads()}
    batch16_repeats = max(3, args.repeats // 4)
    results["bare_batch1"] = summary(bare_forward(model, args.image_size, 1, args.repeats), 1)
    results["bare_batch16"] = summary(bare_forward(model, args.image_size, 16, batch16_repeats), 16)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        config = {"arch": args.arch, "image_size": args.image_size, "num_classes": 133}
        write_model_artifacts(
            model_dir,
            model,
            config,
            [f"breed {i}" for i in range(133)],
            [
                {
                    "epoch": 1,
                    "train_loss": 0,
                    "train_accuracy": 0,
                    "valid_loss": 0,
                    "valid_accuracy": 0,
                }
            ],
            {},
        )
        archive = build_model_archive(model_dir, Path(tmp) / "model.tar.gz")
        started = time.perf_counter()
        with LocalEndpoint(archive, port=0) as endpoint:
            results["serving_startup_s"] = round(time.perf_counter() - started, 1)
            runtime = boto3.client(
                "sagemaker-runtime",
                endpoint_url=endpoint.url,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
            image = jpeg(round(args.image_size * 1.2), seed=0)
            results["served_batch1"] = summary(
                served(runtime, image, "image/jpeg", args.repeats), 1
            )
            batch = json.dumps(
                {
                    "images": [
                        base64.b64encode(jpeg(round(args.image_size * 1.2), s)).decode()
                        for s in range(16)
                    ]
                }
            ).encode()
            results["served_batch16"] = summary(
                served(runtime, batch, "application/json", batch16_repeats), 16
            )
    logger.info("%s", json.dumps(results))


if __name__ == "__main__":
    main()
