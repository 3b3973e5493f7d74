"""What queueing through an asynchronous endpoint costs in latency against a real-time call of
the same model, both on the emulator in local mode, in one run.

    .venv/bin/python -m bench.async_inference [--images 40]

The model is serving_load's (ResNet50 at 224 px, int8 in the archive), the images its
generated 256 px JPEGs, each served by the toolkit's handler service (one request at a time)
behind a real-time endpoint and behind an asynchronous one, both loaded first. Through the
invoker's handler, in this process, as the API calls it:

- real-time: one photo after another, each answered in the request;
- asynchronous, one at a time: a photo queued (202), then its status asked every 50 ms until
  done, as a client polling fast would; the time from the request to "done";
- asynchronous, a burst: every photo queued at once, then each polled until done: the time
  until the last is done against the real-time path's one-after-another.

Real AWS adds what this machine cannot show: S3 and SNS round trips of tens of milliseconds
each, and minutes to start the first instance of an endpoint scaled to zero. One JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench.serving_load import model_and_images
from local_stack.emulator import client, start_moto
from local_stack.environment import overlaid_environment
from local_stack.ports import free_port
from local_stack.serving.lambda_runtime import import_handler

logger = logging.getLogger("bench.async_inference")
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/bench-async"
BUCKET = "bench-async"
CONTEXT = SimpleNamespace(aws_request_id="bench")
ASYNC_SETTINGS = {
    "ASYNC_BUCKET": BUCKET,
    "ASYNC_INPUT_PREFIX": "async/in/",
    "ASYNC_OUTPUT_PREFIX": "async/out/",
    "ASYNC_FAILURE_PREFIX": "async/failed/",
}


def endpoints(emulator) -> None:
    """One model, a real-time endpoint ("realtime") and an asynchronous one ("queued")."""
    sagemaker = client("sagemaker", emulator)
    sagemaker.create_model(
        ModelName="bench-async",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/models/model.tar.gz"},
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "bench-async",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    sagemaker.create_endpoint_config(EndpointConfigName="realtime", ProductionVariants=[variant])
    outputs = {
        "S3OutputPath": f"s3://{BUCKET}/async/out/",
        "S3FailurePath": f"s3://{BUCKET}/async/failed/",
    }
    sagemaker.create_endpoint_config(
        EndpointConfigName="queued",
        ProductionVariants=[variant],
        AsyncInferenceConfig={"OutputConfig": outputs},
    )
    for name in ("realtime", "queued"):
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def event(photo: bytes) -> dict:
    return {"image": base64.b64encode(photo).decode(), "top_k": 5}


def queue(handler, photo: bytes) -> str:
    answer = handler.lambda_handler(event(photo), CONTEXT)
    if answer["statusCode"] != 202:
        raise SystemExit(f"the asynchronous path answered {answer['statusCode']}: {answer['body']}")
    return json.loads(answer["body"])["inference_id"]


def wait_done(handler, inference_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = json.loads(handler.lambda_handler({"inference_id": inference_id}, CONTEXT)["body"])
        if answer.get("status") == "done":
            return
        if answer.get("status") != "pending":
            raise SystemExit(f"request {inference_id} ended {answer}")
        time.sleep(0.05)
    raise SystemExit(f"request {inference_id} was not answered in {timeout} s")


def measure(photos: list[bytes]) -> dict:
    realtime = import_handler({"ENDPOINT_NAME": "realtime", "LOG_LEVEL": "WARNING"})
    while realtime.lambda_handler(event(photos[0]), CONTEXT)["statusCode"] != 200:
        time.sleep(0.5)  # the model loads
    realtime_s = []
    for photo in photos:
        started = time.perf_counter()
        if realtime.lambda_handler(event(photo), CONTEXT)["statusCode"] != 200:
            raise SystemExit("the real-time path failed")
        realtime_s.append(time.perf_counter() - started)
    queued = import_handler({"ENDPOINT_NAME": "queued", "LOG_LEVEL": "WARNING", **ASYNC_SETTINGS})
    wait_done(queued, queue(queued, photos[0]))  # the model loads
    one_s = []
    for photo in photos:
        started = time.perf_counter()
        wait_done(queued, queue(queued, photo))
        one_s.append(time.perf_counter() - started)
    started = time.perf_counter()
    for inference_id in [queue(queued, photo) for photo in photos]:
        wait_done(queued, inference_id)
    burst_s = time.perf_counter() - started
    return {"realtime": realtime_s, "one": one_s, "burst_s": burst_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40, help="photos to classify")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        archive, images = model_and_images(Path(tmp))
        photos = [images[index % len(images)] for index in range(args.images)]
        emulator = start_moto(port=free_port(), local_mode=True)
        emulator.local_mode.endpoints.model_server = "handler-service"  # both alike
        try:
            with overlaid_environment(emulator.environment()):
                s3 = client("s3", emulator)
                s3.create_bucket(Bucket=BUCKET)
                s3.upload_file(str(archive), BUCKET, "models/model.tar.gz")
                endpoints(emulator)
                found = measure(photos)
        finally:
            emulator.stop()
    realtime_p50 = statistics.median(found["realtime"])
    one_p50 = statistics.median(found["one"])
    result = {
        "images": len(photos),
        "cpus": os.cpu_count(),
        "realtime_p50_ms": round(1000 * realtime_p50, 1),
        "async_one_at_a_time_p50_ms": round(1000 * one_p50, 1),
        "async_vs_realtime_latency": round(one_p50 / realtime_p50, 2),
        "realtime_all_s": round(sum(found["realtime"]), 1),
        "async_burst_s": round(found["burst_s"], 1),
        "async_burst_vs_realtime_all": round(found["burst_s"] / sum(found["realtime"]), 2),
    }
    logger.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
