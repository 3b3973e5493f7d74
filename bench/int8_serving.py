"""The endpoint handler with the int8 model against fp32, in-process and through the local
serving stack, in one run.

    .venv/bin/python -m bench.int8_serving

A ResNet50 (224 px) whose head is trained on cached features of generated images (5 breeds,
random backbone weights standing in for ImageNet's), packaged with ``ml.package --int8``
(calibrated on the valid split, agreement checked on the test split). Then, one JPEG per
request: ``input_fn`` + ``predict_fn`` + ``output_fn`` in-process for each precision, and
``invoke_endpoint`` through ``local_stack.serving.endpoint`` (sagemaker-pytorch-inference +
TorchServe, one worker) with ``INFERENCE_PRECISION`` choosing the model; the start-up time of
the local endpoint for each; the archive sizes. One JSON line.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import boto3
import torch

from local_stack.demo.sample_data import generate
from local_stack.serving.endpoint import LocalEndpoint
from ml import inference
from ml.package import Int8Options, build_model_archive

logger = logging.getLogger("bench.int8_serving")
REPO_ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 30


def images_per_s(timings: list[float]) -> float:
    return round(len(timings) / sum(timings), 2)


def in_process(model_dir: Path, precision: str, images: list[bytes]) -> dict:
    os.environ["INFERENCE_PRECISION"] = precision
    loaded = inference.model_fn(str(model_dir))
    answers, timings = [], []
    for index in range(REQUESTS + 1):
        image = images[index % len(images)]
        started = time.perf_counter()
        body, _ = inference.output_fn(
            inference.predict_fn(inference.input_fn(image, "image/jpeg"), loaded),
            "application/json",
        )
        if index:  # the first request warms up
            timings.append(time.perf_counter() - started)
        answers.append(json.loads(body)["predictions"][0]["index"])
    return {
        "images_per_s": images_per_s(timings),
        "p50_ms": round(1000 * statistics.median(timings), 1),
        "answers": answers,
    }


def through_the_stack(archive: Path, precision: str, images: list[bytes]) -> dict:
    os.environ["INFERENCE_PRECISION"] = precision  # the toolkit's child process inherits it
    started = time.perf_counter()
    with LocalEndpoint(archive, port=0) as endpoint:
        startup = time.perf_counter() - started
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=endpoint.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        timings = []
        for index in range(REQUESTS + 1):
            began = time.perf_counter()
            answer = runtime.invoke_endpoint(
                EndpointName="bench", Body=images[index % len(images)], ContentType="image/jpeg"
            )
            precision_served = json.loads(answer["Body"].read())["precision"]
            if index:
                timings.append(time.perf_counter() - began)
    return {
        "images_per_s": images_per_s(timings),
        "startup_s": round(startup, 1),
        "served": precision_served,
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = generate(root / "data", classes=5, per_class=20, eval_per_class=20, size=256, seed=0)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ml.train",
                "--data-dir",
                str(data),
                "--arch",
                "resnet50",
                "--no-pretrained",
                "--freeze-backbone",
                "--no-augment",
                "--feature-cache",
                str(root / "cache"),
                "--image-size",
                "224",
                "--epochs",
                "5",
                "--workers",
                "0",
                "--model-dir",
                str(root / "model"),
                "--checkpoint-dir",
                str(root / "ckpt"),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "OMP_NUM_THREADS": "2"},
            check=True,
            capture_output=True,
        )
        fp32_archive = build_model_archive(root / "model", root / "fp32.tar.gz")
        options = Int8Options(data / "valid", data / "test", min_agreement=0.99)
        int8_archive = build_model_archive(root / "model", root / "int8.tar.gz", options)
        with tarfile.open(int8_archive) as archive:
            archive.extractall(root / "extracted", filter="data")
        images = [path.read_bytes() for path in sorted((data / "test").rglob("*.jpg"))]
        fp32 = in_process(root / "extracted", "fp32", images)
        int8 = in_process(root / "extracted", "int8", images)
        agreement = sum(
            a == b for a, b in zip(fp32.pop("answers"), int8.pop("answers"), strict=True)
        )
        stack_fp32 = through_the_stack(int8_archive, "fp32", images)
        stack_int8 = through_the_stack(int8_archive, "int8", images)
        result = {
            "model": "resnet50, 224 px, 5 classes",
            "fp32_archive_mb": round(fp32_archive.stat().st_size / 1e6, 1),
            "int8_archive_mb": round(int8_archive.stat().st_size / 1e6, 1),
            "handler_fp32": fp32,
            "handler_int8": int8,
            "handler_speedup": round(int8["images_per_s"] / fp32["images_per_s"], 2),
            "handler_agreement": f"{agreement}/{REQUESTS + 1}",
            "stack_fp32": stack_fp32,
            "stack_int8": stack_int8,
            "stack_speedup": round(stack_int8["images_per_s"] / stack_fp32["images_per_s"], 2),
        }
    logger.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
