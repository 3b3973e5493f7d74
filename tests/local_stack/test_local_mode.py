"""Local mode: SageMaker training jobs created on the emulator run for real.

Each test creates its job with plain boto3, as any client would. The real job runs ml/train.py
from the code bundle `python -m mlops` uploads; the others run a small entry point of their
own (a raise, a loop) so that failing and stopping take seconds.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
import uuid
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from local_stack.emulator import client, start_moto
from local_stack.emulator.job_logs import METRICS_NAMESPACE
from local_stack.emulator.local_mode import active
from local_stack.emulator.training import group_alive
from ml import inference
from mlops import specs
from tests.toolkit import serve
from tests.training import (
    TINY_HYPERPARAMETERS,
    TRAINING_IMAGE,
    staged_job_setting,
    training_job_logs,
    wait_for_training_job,
    wait_for_tuning_job,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def bucket(emulator) -> str:
    name = f"local-mode-{uuid.uuid4().hex[:8]}"
    client("s3", emulator).create_bucket(Bucket=name)
    return name


def s3_members(s3, url: str) -> dict[str, bytes]:
    bucket, key = specs.parse_s3_url(url, "archive")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def script_job(
    emulator,
    bucket: str,
    source: str,
    max_runtime: int = 600,
    create: bool = True,
    instances: int = 1,
):
    """A job whose entry point is ``source`` (no input channels): its name once created, or
    (``create=False``) the request."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo("entry.py")
        member.size = len(source.encode())
        archive.addfile(member, io.BytesIO(source.encode()))
    key = f"code/{uuid.uuid4().hex[:8]}/entry.tar.gz"
    client("s3", emulator).put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    request = {
        "TrainingJobName": f"script-{uuid.uuid4().hex[:10]}",
        "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {
            "sagemaker_program": '"entry.py"',
            "sagemaker_submit_directory": f'"s3://{bucket}/{key}"',
            "sagemaker_region": f'"{emulator.region}"',
        },
        "RoleArn": "arn:aws:iam::123456789012:role/local-mode-training",
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/models/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.large",
            "InstanceCount": instances,
            "VolumeSizeInGB": 5,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
    }
    if not create:
        return request
    client("sagemaker", emulator).create_training_job(**request)
    return request["TrainingJobName"]


def test_a_job_created_with_boto3_trains_for_real_and_its_model_serves(
    emulator, local_mode, sample_dataset, tmp_path
):
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    setting = staged_job_setting(emulator, sample_dataset, tmp_path)
    bucket = setting.bucket
    name = specs.job_name("local", "train", datetime.now(UTC))
    # Spot: accepted, and its checkpoint configuration syncs the checkpoints to S3.
    resources = specs.Resources(
        instance_type="ml.m5.large", max_runtime_s=600, spot=True, max_wait_s=1200
    )
    sagemaker.create_training_job(
        **specs.training_job_request(name, setting, TINY_HYPERPARAMETERS, resources)
    )
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in (
        "InProgress",
        "Completed",
    )

    job = wait_for_training_job(sagemaker, name)
    log = training_job_logs(emulator, name)["algo-1"]
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]

    # The metric definitions matched against the job's own log, as SageMaker matches them.
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    loss, accuracy = re.search(r"test metrics: test_loss=(\S+) test_accuracy=(\S+)", log).groups()
    assert final["test_loss"] == float(loss)
    assert final["test_accuracy"] == float(accuracy)
    published = client("cloudwatch", emulator).list_metrics(
        Namespace=METRICS_NAMESPACE, MetricName="valid_loss"
    )["Metrics"]
    assert any({"Name": "Host", "Value": f"{name}/algo-1"} in m["Dimensions"] for m in published)

    # model.tar.gz as the endpoint gets it, serving a photo; output.tar.gz with the metrics.
    model_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert model_url == f"s3://{bucket}/models/{name}/output/model.tar.gz"
    model_dir = tmp_path / "served"
    model_dir.mkdir()
    for member, content in s3_members(s3, model_url).items():
        (model_dir / member).parent.mkdir(parents=True, exist_ok=True)
        (model_dir / member).write_bytes(content)
    photo = next((sample_dataset / "test").rglob("*.jpg")).read_bytes()
    statuses, answer = serve(inference.model_fn(str(model_dir)), photo, "image/jpeg")
    assert statuses == []
    assert len(answer["predictions"]) >= 1
    assert "metrics.json" in s3_members(s3, model_url.replace("model.tar.gz", "output.tar.gz"))
    checkpoints = s3.list_objects_v2(Bucket=bucket, Prefix=f"checkpoints/{name}/")["Contents"]
    assert any(item["Key"].endswith("checkpoint.pt") for item in checkpoints)


def test_a_failing_entry_point_ends_failed_with_its_error_as_the_reason(
    emulator, local_mode, bucket
):
    sagemaker = client("sagemaker", emulator)
    name = script_job(
        emulator,
        bucket,
        'print("reading the breeds", flush=True)\n'
        'raise ValueError("the dataset has no dog breeds")\n',
    )
    job = wait_for_training_job(sagemaker, name, timeout=120)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Failed"
    reason = job["FailureReason"]
    # What SageMaker reports: the toolkit's failure file, behind "AlgorithmError: ".
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:")
    # Its ErrorMessage: stderr from the first exception name on (the framework module's
    # capture_error; line breaks fall where the toolkit's reads do).
    assert re.search(r"ErrorMessage .*ValueError\W+the dataset has no dog breeds", reason, re.S)
    assert len(reason) <= 1024
    assert "reading the breeds" in training_job_logs(emulator, name)["algo-1"]
    with pytest.raises(ClientError) as refused:
        sagemaker.stop_training_job(TrainingJobName=name)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "status Failed" in refused.value.response["Error"]["Message"]


SAVES_ON_SIGTERM = """
import os, pathlib, signal, sys, time

def save_and_leave(*_):
    pathlib.Path(os.environ["SM_MODEL_DIR"], "saved-on-sigterm.txt").write_text("partial")
    sys.exit(0)

signal.signal(signal.SIGTERM, save_and_leave)
print("training for ever", flush=True)
while True:
    time.sleep(0.1)
"""


def test_stop_training_job_sends_sigterm_and_uploads_what_the_grace_period_saved(
    emulator, local_mode, bucket
):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    name = script_job(emulator, bucket, SAVES_ON_SIGTERM)
    deadline = time.monotonic() + 120
    while "training for ever" not in training_job_logs(emulator, name).get("algo-1", ""):
        assert time.monotonic() < deadline, "the entry point never started"
        time.sleep(0.5)
    run = local_mode.run_of(name)

    sagemaker.stop_training_job(TrainingJobName=name)
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    job = wait_for_training_job(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    assert "FailureReason" not in job
    assert "saved-on-sigterm.txt" in s3_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])
    assert not any(group_alive(pid) for pid in run.process_groups())


def test_max_runtime_stops_the_job(emulator, local_mode, bucket):
    sagemaker = client("sagemaker", emulator)
    name = script_job(emulator, bucket, SAVES_ON_SIGTERM, max_runtime=2)
    job = wait_for_training_job(sagemaker, name, timeout=120)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"


def test_ending_local_mode_kills_every_process_its_jobs_started(emulator, local_mode, bucket):
    sagemaker = client("sagemaker", emulator)
    name = script_job(emulator, bucket, "import time\nwhile True:\n    time.sleep(0.1)\n")
    wait_for_training_job(sagemaker, name, statuses=("InProgress",))
    run = local_mode.run_of(name)
    deadline = time.monotonic() + 60
    while not run.process_groups():
        assert time.monotonic() < deadline
        time.sleep(0.2)

    local_mode.stop_all()  # what Emulator.stop and Emulator.reset do first
    assert not any(group_alive(pid) for pid in run.process_groups())
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopped"


def test_with_local_mode_off_a_job_is_only_recorded(emulator, bucket):
    name = script_job(emulator, bucket, "raise SystemExit(1)\n")
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed"
    assert emulator.local_mode.run_of(name) is None


# A trial whose objective is its hyperparameter: "0.2" must win a Minimize, "fail" fails.
REPORTS_ITS_LOSS = """
import json, os
loss = json.loads(os.environ["SM_HPS"])["loss"]
if loss == "fail":
    raise RuntimeError("this trial cannot train")
print(f"epoch 1/1 metrics: valid_loss={float(loss):.6f}", flush=True)
"""


def tuning_job(emulator, bucket: str, source: str, losses: list[str], name: str) -> None:
    """A Grid tuning job over ``losses`` whose trials run ``source``."""
    training = script_job(emulator, bucket, source, create=False)
    client("sagemaker", emulator).create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Grid",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "valid_loss"},
            "ResourceLimits": {"MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"CategoricalParameterRanges": [{"Name": "loss", "Values": losses}]},
        },
        TrainingJobDefinition={
            "StaticHyperParameters": training["HyperParameters"],
            "AlgorithmSpecification": {
                **training["AlgorithmSpecification"],
                "MetricDefinitions": [
                    {"Name": "valid_loss", "Regex": r"valid_loss=([0-9]+\.[0-9]+)"}
                ],
            },
            **{key: training[key] for key in ("RoleArn", "OutputDataConfig", "ResourceConfig")},
            "StoppingCondition": training["StoppingCondition"],
        },
    )


def test_a_tuning_job_runs_its_trials_and_picks_the_one_its_objective_names(
    emulator, local_mode, bucket
):
    sagemaker = client("sagemaker", emulator)
    name = f"tune-{uuid.uuid4().hex[:8]}"
    tuning_job(emulator, bucket, REPORTS_ITS_LOSS, ["0.5", "0.2", "fail"], name)
    assert local_mode.tuning_run_of(name).at_a_time == 1  # local mode's default, not the job's 2

    tuning = wait_for_tuning_job(sagemaker, name, timeout=180)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 2
    assert tuning["TrainingJobStatusCounters"]["NonRetryableError"] == 1
    assert tuning["ObjectiveStatusCounters"] == {"Succeeded": 2, "Pending": 0, "Failed": 1}

    best = tuning["BestTrainingJob"]
    assert best["TunedHyperParameters"] == {"loss": "0.2"}
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.2
    assert "valid_loss=0.200000" in training_job_logs(emulator, best["TrainingJobName"])["algo-1"]
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue"
    )["TrainingJobSummaries"]
    assert [t["TunedHyperParameters"]["loss"] for t in trials] == ["0.2", "0.5", "fail"]
    assert re.fullmatch(rf"{name}-00[1-3]-[0-9a-f]{{8}}", trials[0]["TrainingJobName"])
    assert "this trial cannot train" in trials[2]["FailureReason"]


def test_a_second_emulator_that_stops_leaves_the_jobs_to_the_first(emulator):
    """moto's backends are one per process: the newest running emulator's local mode runs
    the jobs, and the one before takes them back when it stops."""
    second = start_moto(port=0, local_mode=False)
    assert active() is second.local_mode
    second.stop()
    assert active() is emulator.local_mode
