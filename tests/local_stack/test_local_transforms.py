"""Local mode runs batch transform: CreateTransformJob on the emulator serves the job's model
over every object under the input prefix, writes ``<key>.out`` per answered object, logs each
failed one in SageMaker's data-log form and ends Failed when any failed ("Batch Transform
Errors" in the SageMaker developer guide: the job goes on with the other objects, and marks
itself failed). ``python -m mlops transform`` joins it all into one line per photo.

The 20-photo acceptance run on the Terraform stack, as its roles allow it, is in
tests/mlops/test_on_applied_stack.py; here the job runs from plain boto3 and the command from
flags, on the shared trained model.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from local_stack.emulator import client
from mlops.cli import main
from tests.images import sample_image

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/dogs-transform"
GOOD, BAD = 4, 2


@pytest.fixture(scope="module")
def photos(emulator, model_archive, sample_dataset) -> dict:
    """A bucket with the model under models/ and GOOD photos plus BAD non-photos (a text file
    and a truncated JPEG) under transform/in/batch/."""
    s3 = client("s3", emulator)
    bucket = f"transforms-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(model_archive), bucket, "models/run-1/model.tar.gz")
    jpeg = sample_image(sample_dataset, "001.Affenpinscher").read_bytes()
    keys = [f"transform/in/batch/dog {number}.jpg" for number in range(GOOD)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=jpeg)
    bad = {"transform/in/batch/notes.txt": b"not a photo", "transform/in/batch/cut.jpg": jpeg[:200]}
    for key, body in bad.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return {
        "bucket": bucket,
        "good": keys,
        "bad": sorted(bad),
        "model": f"s3://{bucket}/models/run-1/model.tar.gz",
    }


def wait_for(sagemaker, name: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = sagemaker.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            return job
        time.sleep(1)
    raise AssertionError(f"transform job {name} did not end in {timeout} s")


def test_a_transform_job_answers_each_object_and_fails_for_the_bad_ones(
    emulator, local_mode, photos
):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    bucket = photos["bucket"]
    name = f"dogs-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": photos["model"]},
    )
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName=name,
        MaxConcurrentTransforms=2,
        BatchStrategy="SingleRecord",
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/transform/in/"}
            },
            "ContentType": "application/x-image",
        },
        TransformOutput={"S3OutputPath": f"s3://{bucket}/transform/out/{name}"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    assert sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"] in (
        "InProgress",
        "Failed",
        "Completed",
    )

    job = wait_for(sagemaker, name)

    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == "ClientError: See job logs for more information"
    written = s3.list_objects_v2(Bucket=bucket, Prefix=f"transform/out/{name}/")["Contents"]
    expected = {
        f"transform/out/{name}/{k.removeprefix('transform/in/')}.out" for k in photos["good"]
    }
    assert {item["Key"] for item in written} == expected
    answer = json.loads(s3.get_object(Bucket=bucket, Key=sorted(expected)[0])["Body"].read())
    assert answer["predictions"][0]["breed"]
    assert answer["precision"] == "fp32"
    logs = client("logs", emulator)
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    (data_log,) = [s["logStreamName"] for s in streams if s["logStreamName"].endswith("/data-log")]
    messages = [
        e["message"]
        for e in logs.get_log_events(
            logGroupName="/aws/sagemaker/TransformJobs", logStreamName=data_log, startFromHead=True
        )["events"]
    ]
    assert "[sagemaker logs]: MaxConcurrentTransforms=2, MaxPayloadInMB=6" in messages[0]
    assert any(
        f"[sagemaker logs]: {bucket}/transform/in/batch/notes.txt: ClientError: 4" in m
        for m in messages
    )


def test_a_transform_job_of_a_model_that_does_not_exist_is_refused(emulator, local_mode):
    with pytest.raises(ClientError, match="Could not find model"):
        client("sagemaker", emulator).create_transform_job(
            TransformJobName=f"dogs-{uuid.uuid4().hex[:8]}",
            ModelName="no-such-model",
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}
            },
            TransformOutput={"S3OutputPath": "s3://b/out/"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )


def test_mlops_transform_joins_every_photo_and_names_the_failures(
    emulator, local_mode, photos, tmp_path, caplog
):
    bucket = photos["bucket"]
    results = tmp_path / "results.jsonl"
    flags = [
        *("--bucket", bucket, "--region", emulator.region),
        *("--transform-role-arn", ROLE, "--inference-image-uri", IMAGE),
    ]

    with pytest.raises(SystemExit) as ended:
        main(
            [
                "transform",
                *flags,
                *("--model-data", photos["model"]),
                *("--input", f"s3://{bucket}/transform/in/batch/"),
                *("--output", f"s3://{bucket}/transform/out/cli/"),
                *("--instance-type", "ml.m5.large", "--results", str(results)),
                *("--poll-seconds", "1"),
            ]
        )

    assert ended.value.code == 1
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    by_key = {line["key"]: line for line in lines}
    assert sorted(by_key) == sorted(photos["good"] + photos["bad"])
    for key in photos["good"]:
        assert by_key[key]["status"] == "answered"
        assert by_key[key]["model"] == photos["model"]
        assert by_key[key]["precision"] == "fp32"
        assert len(by_key[key]["predictions"]) >= 1
    for key in photos["bad"]:
        assert by_key[key]["status"] == "failed"
        assert by_key[key]["error"].startswith("ClientError: 4"), by_key[key]
    failure = caplog.records[-1].getMessage()
    assert all(key in failure for key in photos["bad"])
    assert "2 of 6 photos failed" in failure
    assert not list(Path(tmp_path).glob(".results.jsonl.*"))  # no half-written file left
    models = client("sagemaker", emulator).list_models()["Models"]
    assert not [m for m in models if m["ModelName"].startswith("dog-breeds-transform-")]


def test_an_output_folder_that_holds_answers_is_refused(emulator, photos, caplog):
    """An earlier job's answer would pass for this one's: the command refuses to start."""
    bucket = photos["bucket"]
    client("s3", emulator).put_object(
        Bucket=bucket, Key="transform/out/used/dog 0.jpg.out", Body=b"{}"
    )
    with pytest.raises(SystemExit) as ended:
        main(
            [
                "transform",
                *("--bucket", bucket, "--region", emulator.region),
                *("--model-data", photos["model"]),
                *("--input", f"s3://{bucket}/transform/in/batch/"),
                *("--output", f"s3://{bucket}/transform/out/used/"),
            ]
        )
    assert ended.value.code == 2
    assert "already holds answers" in caplog.records[-1].getMessage()


@pytest.mark.parametrize(
    ("flag", "url"),
    [
        ("--input", "s3://{bucket}/data/train/"),
        ("--input", "s3://other-bucket/transform/in/"),
        ("--output", "s3://{bucket}/models/"),
        ("--output", "s3://{bucket}/transform/in/answers/"),
    ],
)
def test_a_prefix_outside_transform_is_refused(flag, url, tmp_path, caplog):
    args = {
        "--input": "s3://dogs-data/transform/in/batch/",
        "--output": "s3://dogs-data/transform/out/batch/",
    }
    args[flag] = url.format(bucket="dogs-data")
    with pytest.raises(SystemExit) as ended:
        main(
            [
                "transform",
                *("--bucket", "dogs-data", "--region", "us-east-1"),
                *("--model-data", "s3://dogs-data/models/run-1/model.tar.gz"),
                *(arg for pair in args.items() for arg in pair),
            ]
        )
    assert ended.value.code == 2
    (message,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert message.startswith(f"{flag} {args[flag]}: batch transform may use only s3://dogs-data/")
    assert "\n" not in message
