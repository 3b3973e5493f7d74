"""Images per second of a batch transform against the same images sent one request at a time
through the Lambda path, both on the emulator in local mode, in one run.

    .venv/bin/python -m bench.batch_transform [--images 100]

The model is serving_load's (ResNet50 at 224 px, int8 in the archive), the images its
generated 256 px JPEGs. The transform: CreateTransformJob over ``--images`` objects under
``transform/in/`` (SingleRecord, MaxConcurrentTransforms = this machine's CPUs, one instance),
timed from the request to the job's end, the model's loading included as a real job's
instance start is. The Lambda path: the same model behind an endpoint (loaded first, as a
live endpoint is), and the invoker's handler called once per image, in turn, as a client
calling the API one photo after another gets it (the Lambda's own start and network are not in
it: the handler runs in this process). One JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench.serving_load import model_and_images
from local_stack.emulator import client, start_moto
from local_stack.environment import overlaid_environment
from local_stack.ports import free_port
from local_stack.serving.lambda_runtime import import_handler

logger = logging.getLogger("bench.batch_transform")
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/bench-transform"
BUCKET = "bench-transform"


def transform_seconds(emulator, images: int) -> float:
    sagemaker = client("sagemaker", emulator)
    sagemaker.create_model(
        ModelName="bench-transform",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/models/model.tar.gz"},
    )
    started = time.perf_counter()
    sagemaker.create_transform_job(
        TransformJobName="bench-transform",
        ModelName="bench-transform",
        MaxConcurrentTransforms=os.cpu_count() or 1,
        BatchStrategy="SingleRecord",
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/transform/in/"}
            },
            "ContentType": "image/jpeg",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    while True:
        job = sagemaker.describe_transform_job(TransformJobName="bench-transform")
        if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if job["TransformJobStatus"] != "Completed":
        raise SystemExit(
            f"the transform ended {job['TransformJobStatus']}: {job.get('FailureReason')}"
        )
    pages = client("s3", emulator).get_paginator("list_objects_v2")
    written = sum(p["KeyCount"] for p in pages.paginate(Bucket=BUCKET, Prefix="transform/out/"))
    if written != images:
        raise SystemExit(f"the transform wrote {written} answers for {images} images")
    return seconds


def lambda_path(emulator, photos: list[bytes]) -> tuple[float, float]:
    """Seconds to load the endpoint's model, then seconds to classify every photo in turn."""
    sagemaker = client("sagemaker", emulator)
    sagemaker.create_endpoint_config(
        EndpointConfigName="bench",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "bench-transform",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    started = time.perf_counter()
    sagemaker.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
    handler = import_handler({"ENDPOINT_NAME": "bench", "LOG_LEVEL": "WARNING"})
    context = SimpleNamespace(aws_request_id="bench")
    load_event = {"image": base64.b64encode(photos[0]).decode()}
    while handler.lambda_handler(load_event, context)["statusCode"] != 200:
        time.sleep(0.5)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    for photo in photos:
        answer = handler.lambda_handler({"image": base64.b64encode(photo).decode()}, context)
        if answer["statusCode"] != 200:
            raise SystemExit(f"the Lambda path answered {answer['statusCode']}: {answer['body']}")
    return loaded, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100, help="photos to classify")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        archive, images = model_and_images(Path(tmp))
        photos = [images[index % len(images)] for index in range(args.images)]
        emulator = start_moto(port=free_port(), local_mode=True)
        try:
            with overlaid_environment(emulator.environment()):
                s3 = client("s3", emulator)
                s3.create_bucket(Bucket=BUCKET)
                s3.upload_file(str(archive), BUCKET, "models/model.tar.gz")
                for index, photo in enumerate(photos):
                    s3.put_object(Bucket=BUCKET, Key=f"transform/in/{index:05}.jpg", Body=photo)
                transform_s = transform_seconds(emulator, len(photos))
                load_s, lambda_s = lambda_path(emulator, photos)
        finally:
            emulator.stop()
    result = {
        "images": len(photos),
        "cpus": os.cpu_count(),
        "transform_s": round(transform_s, 1),
        "transform_images_per_s": round(len(photos) / transform_s, 1),
        "endpoint_load_s": round(load_s, 1),
        "lambda_path_s": round(lambda_s, 1),
        "lambda_path_images_per_s": round(len(photos) / lambda_s, 1),
        "transform_vs_lambda_path": round(lambda_s / transform_s, 2),
        "transform_after_load_vs_lambda_path": round(lambda_s / max(transform_s - load_s, 1e-3), 2),
    }
    logger.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
