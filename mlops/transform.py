"""``transform``: classify every photo under an S3 prefix with SageMaker Batch Transform, then
join the answers to the photos' keys in one JSON-lines file.

The job serves an approved model version (or a model.tar.gz) as a model of its own, run as the
stack's transform role, which reads only ``transform/in/`` (and the models) and writes only
``transform/out/``: other prefixes are refused before anything is created. Each photo is one
request to the inference handler, as the endpoint gets it (SingleRecord, SplitType None).
SageMaker writes one ``.out`` per answered photo and marks the whole job Failed when any photo
fails; the results file has a line per photo either way, from the ``.out`` or from the job's
data log, and the command exits non-zero naming the photos that failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mlops import JobsError, specs
from mlops.aws import Aws
from mlops.command import Command
from mlops.deploy import check_model_data, model_data_of_job
from mlops.registry import require_approved
from mlops.stack import Stack

logger = logging.getLogger("mlops")

INPUT_PREFIX, OUTPUT_PREFIX = "transform/in/", "transform/out/"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
ENDED = ("Completed", "Failed", "Stopped")
# CreateTransformJob's limits (SageMaker API reference, CreateTransformJob): MaxPayloadInMB at
# most 100 and MaxConcurrentTransforms x MaxPayloadInMB too (0 means chunked encoding, which
# the handler does not take: at least 1 here), InstanceCount 1 to 100.
MAX_PAYLOAD_MB = 100
MAX_INSTANCES = 100
DATA_LOG_MARKER = "[sagemaker logs]: "
# ml.<family>.<size>: vCPUs from the size, as the endpoint module counts them (large 2, xlarge
# 4, Nxlarge 4N; terraform/modules/sagemaker_endpoint/instances.tf).
INSTANCE_TYPE = re.compile(r"ml\.([a-z0-9-]+)\.(large|xlarge|[0-9]+xlarge)")
FAILED_NAMED = 10  # failed photos named in the error; all of them are in the results file
FETCHES = 10  # answers read at once: botocore's connection pool


class TransformError(JobsError):
    """The job ended, and some photos have no answer."""

    exit_status = 1


@dataclass(frozen=True)
class Photo:
    key: str
    size: int
    output_key: str


def cpu_vcpus(instance_type: str) -> int:
    """The vCPUs of an x86 CPU instance type; the others are refused: the job serves with the
    CPU inference image."""
    match = INSTANCE_TYPE.fullmatch(instance_type)
    if not match:
        raise JobsError(
            f"--instance-type {instance_type!r}: expected ml.FAMILY.SIZE, e.g. ml.m5.xlarge"
        )
    if re.fullmatch(r"t[0-9]+[a-z]*", match[1]):
        raise JobsError(
            f"--instance-type {instance_type}: burstable (ml.t*) instances do not run batch "
            "transform jobs: use an ml.m5 or ml.c5 type"
        )
    if specs.NO_X86_INT8.match(instance_type):
        raise JobsError(
            f"--instance-type {instance_type}: the transform serves with the x86 CPU inference "
            "image, which cannot run on GPU, Graviton, Inferentia or Trainium instances: use an "
            "x86 CPU type such as ml.m5.xlarge or ml.c5.xlarge"
        )
    size = match[2]
    return 2 if size == "large" else 4 * int(size.removesuffix("xlarge") or 1)


def prefix_of(url: str, flag: str, bucket: str, area: str) -> str:
    """The key prefix of ``url``, which must lie under ``s3://bucket/area``."""
    url_bucket, key = specs.parse_s3_url(url, flag)
    if url_bucket != bucket or not key.startswith(area):
        raise JobsError(
            f"{flag} {url}: batch transform may use only s3://{bucket}/{area} (the only place "
            f"the stack's transform role may {'read' if flag == '--input' else 'write'})"
        )
    return key if key.endswith("/") else key + "/"


def output_key(input_prefix: str, key: str, output_prefix: str) -> str:
    """Where SageMaker writes the answer for ``key``: its path under the input prefix with
    ``.out`` appended, under the output prefix."""
    return f"{output_prefix}{key[len(input_prefix) :].lstrip('/')}.out"


def list_photos(aws: Aws, bucket: str, prefix: str, output_prefix: str) -> list[Photo]:
    pages = aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [
        Photo(item["Key"], item["Size"], output_key(prefix, item["Key"], output_prefix))
        for page in pages
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    ]


def answer_keys(aws: Aws, bucket: str, prefix: str):
    """The ``.out`` objects under ``prefix``."""
    pages = aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        yield from (
            item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".out")
        )


def model_request(name: str, source: str, stack: Stack, aws: Aws, vcpus: int) -> dict:
    """The transform's own model: one worker per vCPU, one thread each (the endpoint's rule for
    x86 CPUs), network-isolated, as the endpoint module declares its model."""
    environment = {
        **specs.serving_environment(aws.region),
        "SAGEMAKER_MODEL_SERVER_WORKERS": str(vcpus),
        "OMP_NUM_THREADS": "1",
    }
    if specs.is_model_package(source):
        container = {"ModelPackageName": source, "Environment": environment}
    else:
        image = stack.get("inference_image_uri")
        container = {"Image": image, "ModelDataUrl": source, "Environment": environment}
    return {
        "ModelName": name,
        "ExecutionRoleArn": stack.get("transform_role_arn"),
        "PrimaryContainer": container,
        "EnableNetworkIsolation": True,
    }


def job_request(name: str, model: str, bucket: str, prefixes: tuple[str, str], args) -> dict:
    input_prefix, output_prefix = prefixes
    return {
        "TransformJobName": name,
        "ModelName": model,
        "MaxConcurrentTransforms": args.max_concurrent,
        "MaxPayloadInMB": args.max_payload,
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{input_prefix}"}
            },
            "ContentType": args.content_type,
            "SplitType": "None",
            "CompressionType": "None",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{bucket}/{output_prefix}",
            "Accept": "application/json",
            "AssembleWith": "None",
        },
        "TransformResources": {
            "InstanceType": args.instance_type,
            "InstanceCount": args.instance_count,
        },
    }


def transform_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-package", metavar="PACKAGE_ARN", help="an Approved version")
    source.add_argument("--model-data", metavar="S3_URL", help="a model.tar.gz under models/")
    source.add_argument("--from-job", metavar="TRAINING_JOB", help="this training job's model")
    parser.add_argument(
        "--input", required=True, metavar="S3_URL", help="the photos: s3://BUCKET/transform/in/..."
    )
    parser.add_argument(
        "--output",
        required=True,
        metavar="S3_URL",
        help="the answers: s3://BUCKET/transform/out/...",
    )
    parser.add_argument("--instance-type", default="ml.m5.xlarge", help="(default: ml.m5.xlarge)")
    parser.add_argument("--instance-count", type=int, default=1, help="(default: 1)")
    parser.add_argument(
        "--max-payload", type=int, default=6, metavar="MB", help="largest photo in MB (default: 6)"
    )
    parser.add_argument(
        "--max-concurrent",
        type=int,
        help="requests at once per instance (default: its vCPUs, one per model server worker)",
    )
    parser.add_argument(
        "--content-type",
        default="application/x-image",
        help="what every photo is sent as (default: application/x-image: the handler reads the "
        "format from the bytes)",
    )
    parser.add_argument(
        "--results", type=Path, metavar="FILE", help="the JSON-lines results (default: JOB.jsonl)"
    )
    parser.add_argument("--transform-role-arn", help="(default: output transform_role_arn)")
    parser.add_argument("--inference-image-uri", help="(default: output inference_image_uri)")
    parser.add_argument(
        "--wait-timeout", type=int, default=6 * 3600, help="seconds to wait (default: 21600)"
    )
    parser.add_argument("--poll-seconds", type=int, default=30, help="seconds between checks")


def check_options(args) -> int:
    """The instance's vCPUs, once every number is within SageMaker's limits."""
    vcpus = cpu_vcpus(args.instance_type)
    if args.max_concurrent is None:  # one per worker, within SageMaker's 100 MB at once
        args.max_concurrent = max(1, min(vcpus, MAX_PAYLOAD_MB // max(args.max_payload, 1)))
    if not 1 <= args.instance_count <= MAX_INSTANCES:
        raise JobsError(f"--instance-count {args.instance_count}: 1 to {MAX_INSTANCES}")
    if not 1 <= args.max_payload <= MAX_PAYLOAD_MB:
        raise JobsError(f"--max-payload {args.max_payload}: 1 to {MAX_PAYLOAD_MB} MB")
    if args.max_concurrent < 1:
        raise JobsError(f"--max-concurrent {args.max_concurrent}: at least 1")
    if args.max_concurrent * args.max_payload > MAX_PAYLOAD_MB:
        raise JobsError(
            f"--max-concurrent {args.max_concurrent} x --max-payload {args.max_payload} MB is "
            f"over SageMaker's {MAX_PAYLOAD_MB} MB: lower one of them"
        )
    if not 1 <= args.poll_seconds <= args.wait_timeout:
        raise JobsError(
            f"need 1 <= --poll-seconds <= --wait-timeout, got {args.poll_seconds} and "
            f"{args.wait_timeout}"
        )
    return vcpus


def transform(aws: Aws, stack: Stack, args, now: datetime) -> str:
    vcpus = check_options(args)
    bucket = stack.get("bucket")
    prefixes = (
        prefix_of(args.input, "--input", bucket, INPUT_PREFIX),
        prefix_of(args.output, "--output", bucket, OUTPUT_PREFIX),
    )
    if args.model_package:
        source = require_approved(aws, stack, args.model_package)["ModelPackageArn"]
    else:
        source = args.model_data or model_data_of_job(aws, args.from_job)
        check_model_data(aws, source, bucket)
    photos = list_photos(aws, bucket, *prefixes)
    if not photos:
        raise JobsError(f"--input {args.input}: no objects there")
    if any(True for _ in answer_keys(aws, bucket, prefixes[1])):
        raise JobsError(
            f"--output {args.output} already holds answers: an earlier job's would pass for "
            "this one's; choose a new folder"
        )
    oversized = [p.key for p in photos if p.size > args.max_payload * 2**20]
    if oversized:
        logger.warning(
            "%d photos are over --max-payload %d MB and will fail: %s",
            len(oversized),
            args.max_payload,
            ", ".join(oversized[:FAILED_NAMED]),
        )
    name = specs.job_name(args.prefix, "transform", now)
    aws.sagemaker.create_model(**model_request(name, source, stack, aws, vcpus))
    try:
        aws.sagemaker.create_transform_job(**job_request(name, name, bucket, prefixes, args))
    except BaseException:
        aws.sagemaker.delete_model(ModelName=name)
        raise
    logger.info("transform job %s: %d photos from %s", name, len(photos), args.input)
    job = wait(aws, name, bucket, prefixes[1], len(photos), args)
    aws.sagemaker.delete_model(ModelName=name)  # once the job has ended: it serves from it
    results = args.results or Path(f"{name}.jsonl")
    lines = joined_results(aws, name, bucket, photos, prefixes[1], source)
    write_lines(results, lines)
    report(job, lines, results)
    return str(results)


def wait(aws: Aws, name: str, bucket: str, output_prefix: str, total: int, args) -> dict:
    """Until the job ends, logging its progress (answers written so far)."""
    deadline = time.monotonic() + args.wait_timeout
    while True:
        job = aws.sagemaker.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in ENDED:
            return job
        if time.monotonic() >= deadline:
            raise JobsError(
                f"transform job {name} is still {job['TransformJobStatus']} after "
                f"{args.wait_timeout} s; it goes on (aws sagemaker describe-transform-job "
                f"--transform-job-name {name}), and so does its model {name}: delete it once "
                "the job has ended"
            )
        answered = sum(1 for _ in answer_keys(aws, bucket, output_prefix))
        logger.info(
            "transform job %s: %s, %d/%d answered", name, job["TransformJobStatus"], answered, total
        )
        time.sleep(args.poll_seconds)


def joined_results(
    aws: Aws, name: str, bucket: str, photos: list[Photo], output_prefix: str, model: str
) -> list[dict]:
    """One line per photo: its answer (the ``.out``), or its error from the job's data log.
    The answers are listed once and read FETCHES at a time (a transform may hold 100,000)."""
    errors = data_log_errors(aws, name, {f"{bucket}/{photo.key}" for photo in photos})
    written = set(answer_keys(aws, bucket, output_prefix))
    answered = [photo for photo in photos if photo.output_key in written]
    with ThreadPoolExecutor(max_workers=FETCHES) as pool:
        read = pool.map(lambda photo: answer_of(aws, bucket, photo.output_key), answered)
        bodies = dict(zip(answered, read, strict=True))
    lines = []
    for photo in photos:
        if photo in bodies:
            lines.append({"key": photo.key, **answer_fields(bodies[photo]), "model": model})
        else:
            error = errors.get(f"{bucket}/{photo.key}") or (
                "no answer and no error in the job's log: the job ended before this photo"
            )
            lines.append({"key": photo.key, "status": "failed", "error": error})
    return lines


def answer_of(aws: Aws, bucket: str, key: str) -> bytes:
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def answer_fields(body: bytes) -> dict:
    """The handler's answer as the results file gives it: top-k and precision; anything else
    the model wrote is reported as such."""
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"status": "failed", "error": f"the answer is not JSON: {body[:200]!r}"}
    if not isinstance(answer, dict) or not isinstance(answer.get("predictions"), list):
        return {"status": "failed", "error": f"the answer has no predictions: {body[:200]!r}"}
    return {
        "status": "answered",
        "predictions": answer["predictions"],
        "precision": answer.get("precision"),
    }


def data_log_errors(aws: Aws, job: str, names: set[str]) -> dict[str, str]:
    """``bucket/key`` -> the error SageMaker logged for it, from the job's data-log streams."""
    streams = []
    pages = aws.logs.get_paginator("describe_log_streams").paginate(
        logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/"
    )
    # No group: a job that failed before logging anything, in a new account.
    with contextlib.suppress(aws.logs.exceptions.ResourceNotFoundException):
        for page in pages:
            streams += [
                s["logStreamName"]
                for s in page["logStreams"]
                if s["logStreamName"].endswith("/data-log")
            ]
    lines: dict[str, list[str]] = {}
    for stream in streams:
        for message in stream_messages(aws, stream):
            if (found := data_log_line(message, names)) is not None:
                lines.setdefault(found[0], []).append(found[1])
    return {name: error_text(found) for name, found in lines.items()}


def stream_messages(aws: Aws, stream: str):
    token = None
    while True:
        request = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        page = aws.logs.get_log_events(**request, **({"nextToken": token} if token else {}))
        yield from (event["message"] for event in page["events"])
        if not page["events"] or page.get("nextForwardToken") in (None, token):
            return
        token = page["nextForwardToken"]


def data_log_line(message: str, names: set[str]) -> tuple[str, str] | None:
    """``<time>:[sagemaker logs]: bucket/key: text`` -> (bucket/key, text); keys may hold
    ``": "`` themselves, so each split is tried against the photos' names."""
    _, marker, rest = message.partition(DATA_LOG_MARKER)
    if not marker:
        return None
    start = 0
    while (at := rest.find(": ", start)) != -1:
        if rest[:at] in names:
            return rest[:at], rest[at + 2 :]
        start = at + 1
    if rest.endswith(":") and rest[:-1] in names:  # the blank line after the status
        return rest[:-1], ""
    return None


def error_text(lines: list[str]) -> str:
    """``ClientError: 400`` and the model's message (from the handler's JSON error)."""
    status = lines[0].strip()
    body = "\n".join(lines[lines.index("Message:") + 1 :] if "Message:" in lines else lines[1:])
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        parsed = parsed["error"]  # the handler's {"error": {"code", "message"}}
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return f"{status}: {message if isinstance(message, str) else body.strip()}"[:1000]


def write_lines(path: Path, lines: list[dict]) -> None:
    """Written whole or not at all: a temporary file beside it, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def report(job: dict, lines: list[dict], results: Path) -> None:
    failed = [line for line in lines if line["status"] != "answered"]
    seconds = max(
        (job.get("TransformEndTime") - job.get("TransformStartTime")).total_seconds()
        if job.get("TransformEndTime") and job.get("TransformStartTime")
        else 0.0,
        0.001,
    )
    logger.info(
        "transform job %s %s in %.0f s: %d photos, %d answered, %d failed (%.1f images/s); "
        "results in %s",
        job["TransformJobName"],
        job["TransformJobStatus"],
        seconds,
        len(lines),
        len(lines) - len(failed),
        len(failed),
        (len(lines) - len(failed)) / seconds,
        results,
    )
    for line in failed[:FAILED_NAMED]:
        logger.error("failed: %s: %s", line["key"], line["error"])
    if failed:
        named = ", ".join(line["key"] for line in failed[:FAILED_NAMED])
        more = f" and {len(failed) - FAILED_NAMED} more" if len(failed) > FAILED_NAMED else ""
        raise TransformError(
            f"{len(failed)} of {len(lines)} photos failed ({named}{more}); their errors are in "
            f"{results}"
            + (f"; the job says {job['FailureReason']}" if job.get("FailureReason") else "")
        )
    if job["TransformJobStatus"] != "Completed":
        raise TransformError(
            f"transform job {job['TransformJobName']} is {job['TransformJobStatus']}: "
            f"{job.get('FailureReason') or 'no reason given'}"
        )


TRANSFORM = Command(
    "transform",
    "classify every photo under s3://BUCKET/transform/in/... with batch transform",
    transform,
    transform_options,
    shares=("registry",),
)
