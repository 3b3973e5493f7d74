"""``tune`` and ``train`` against the emulator: what SageMaker is asked for, read back with
Describe* calls (the emulator runs no containers; local_stack/emulator/shims.py says how its
tuning jobs report trials)."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import tarfile

import pytest

from local_stack.emulator import client
from ml.metrics import METRIC_DEFINITIONS, TUNING_OBJECTIVE
from mlops.cli import main
from tests.mlops.conftest import TRAINING_IMAGE
from tests.training import REPO_ROOT

pytestmark = pytest.mark.integration


def described_tuning_job(emulator, name: str) -> dict:
    return client("sagemaker", emulator).describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )


def test_tune_creates_the_search_the_script_and_its_metrics(jobs_stack, emulator):
    name = jobs_stack.run("tune", "--spot", "--hyperparameter", "arch=resnet18")

    tuning = described_tuning_job(emulator, name)
    config = tuning["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == TUNING_OBJECTIVE
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 3}
    ranges = config["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.01", "ScalingType": "Logarithmic"}
    ]
    assert ranges["CategoricalParameterRanges"] == [
        {"Name": "batch-size", "Values": ["16", "32", "64"]}
    ]
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "epochs", "MinValue": "2", "MaxValue": "8", "ScalingType": "Linear"}
    ]

    definition = tuning["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"] == {
        "TrainingImage": TRAINING_IMAGE,
        "TrainingInputMode": "File",
        "MetricDefinitions": METRIC_DEFINITIONS,
    }
    static = definition["StaticHyperParameters"]
    code_uri = f"s3://{jobs_stack.bucket}/code/{name}/code.tar.gz"
    assert json.loads(static["sagemaker_program"]) == "ml/train.py"
    assert json.loads(static["sagemaker_submit_directory"]) == code_uri
    assert json.loads(static["arch"]) == "resnet18"
    assert json.loads(static["package-int8"]) is False  # trials are compared, not served
    assert definition["RoleArn"] == jobs_stack.role_arn
    assert [c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition["InputDataConfig"]] == [
        f"s3://{jobs_stack.bucket}/data/{split}/" for split in ("train", "valid", "test")
    ]
    assert definition["OutputDataConfig"] == {"S3OutputPath": f"s3://{jobs_stack.bucket}/models/"}
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 14400,
        "MaxWaitTimeInSeconds": 28800,
    }
    assert definition["CheckpointConfig"] == {
        "S3Uri": f"s3://{jobs_stack.bucket}/checkpoints/{name}/",
        "LocalPath": "/opt/ml/checkpoints",
    }

    # The submit directory is the code bundle, entry point included.
    body = (
        client("s3", emulator)
        .get_object(Bucket=jobs_stack.bucket, Key=f"code/{name}/code.tar.gz")["Body"]
        .read()
    )
    with tarfile.open(fileobj=io.BytesIO(body)) as bundle:
        assert "ml/train.py" in bundle.getnames()


@pytest.mark.slow
def test_the_jobs_metric_regexes_read_the_real_training_log(jobs_stack, emulator, trained_model):
    """The definitions as SageMaker holds them, against what ml/train.py printed."""
    name = jobs_stack.run("tune")
    definition = described_tuning_job(emulator, name)["TrainingJobDefinition"]
    metrics = json.loads((trained_model.model_dir / "metrics.json").read_text())
    regexes = {
        d["Name"]: d["Regex"] for d in definition["AlgorithmSpecification"]["MetricDefinitions"]
    }
    assert TUNING_OBJECTIVE["MetricName"] in regexes
    for metric, regex in regexes.items():
        found = [float(value) for value in re.findall(regex, trained_model.log)]
        if metric.startswith("test_"):
            expected = [metrics["test"][metric]]
        else:
            expected = [row[metric] for row in metrics["history"]]
        assert found == pytest.approx(expected, abs=1e-6), metric


def test_train_from_tuning_takes_the_best_trial(jobs_stack, emulator):
    tuning_name = jobs_stack.run("tune", "--max-jobs", "6")
    sagemaker = client("sagemaker", emulator)
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_name
    )["TrainingJobSummaries"]
    assert len(trials) == 6
    trials.sort(key=lambda t: t["TrainingJobName"])
    best = min(trials, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert best not in (trials[0], trials[-1]), "the emulator must not make the first/last best"

    name = jobs_stack.run(
        "train",
        "--from-tuning",
        tuning_name,
        "--instance-count",
        "2",
        "--spot",
        "--max-runtime",
        "3600",
        "--hyperparameter",
        "epochs=12",
    )

    job = sagemaker.describe_training_job(TrainingJobName=name)
    hyperparameters = {k: json.loads(v) for k, v in job["HyperParameters"].items()}
    tuned = best["TunedHyperParameters"]
    assert hyperparameters["lr"] == pytest.approx(float(tuned["lr"]))
    assert hyperparameters["batch-size"] == int(tuned["batch-size"])
    assert hyperparameters["epochs"] == 12  # the override wins over the trial's value
    assert "package-int8" not in hyperparameters  # the final model gets its int8 copy
    assert hyperparameters["sagemaker_program"] == "ml/train.py"
    assert hyperparameters["sagemaker_submit_directory"].endswith(f"/code/{name}/code.tar.gz")
    assert job["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 30,
    }
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert job["CheckpointConfig"]["S3Uri"] == f"s3://{jobs_stack.bucket}/checkpoints/{name}/"
    assert job["AlgorithmSpecification"]["MetricDefinitions"] == METRIC_DEFINITIONS
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in job["InputDataConfig"]}
    assert {c["S3DataDistributionType"] for c in channels.values()} == {"FullyReplicated"}


def test_plain_training_has_no_spot_settings(jobs_stack, emulator):
    name = jobs_stack.run("train", "--hyperparameter", "lr=0.0005")
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    assert job["EnableManagedSpotTraining"] is False
    assert "CheckpointConfig" not in job
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 14400}
    assert job["ResourceConfig"]["InstanceCount"] == 1
    assert json.loads(job["HyperParameters"]["lr"]) == 0.0005


def test_dry_run_prints_the_request_and_creates_nothing(jobs_stack, emulator, capsys):
    name = jobs_stack.run("train", "--dry-run", "--instance-count", "3")
    request = json.loads(capsys.readouterr().out)
    assert request["TrainingJobName"] == name
    assert request["ResourceConfig"]["InstanceCount"] == 3
    listed = client("sagemaker", emulator).list_training_jobs(NameContains=jobs_stack.prefix)
    assert listed["TrainingJobSummaries"] == []


def failure(jobs_stack, caplog, *args: str) -> tuple[int, str]:
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        jobs_stack.run(*args)
    return exit_info.value.code, caplog.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "--from-tuning", "no-such-tuning"), "no such tuning job"),
        (("train", "--hyperparameter", "learning-rate=0.1"), r"no option\(s\) --learning-rate"),
        (("train", "--hyperparameter", "model-dir=/tmp"), "set by the job itself"),
        (("train", "--instance-count", "0"), "--instance-count must be at least 1"),
        (("train", "--instance-type", "ml.g5.2xlarge"), "has GPUs but the image"),
        (("train", "--data-uri", "s3://nowhere-bucket-x/data/"), "NoSuchBucket"),
        (("tune", "--hyperparameter", "lr=0.1"), "lr are tuned"),
        (("tune", "--max-jobs", "2", "--max-parallel-jobs", "3"), "--max-parallel-jobs"),
        (("tune", "--lr-range", "0.1", "0.001"), "--lr-range needs 0 < MIN < MAX"),
        (("tune", "--max-wait", "100"), "--max-wait applies to spot training only"),
    ],
)
def test_bad_arguments_get_a_clear_error(jobs_stack, caplog, args, message):
    code, log = failure(jobs_stack, caplog, *args)
    assert code in (1, 2)
    assert re.search(message, log), log


def test_a_missing_dataset_is_named(jobs_stack, emulator, caplog):
    client("s3", emulator).delete_object(
        Bucket=jobs_stack.bucket, Key="data/valid/001.Affenpinscher/1.jpg"
    )
    code, log = failure(jobs_stack, caplog, "train")
    assert code == 2
    assert f"no objects under s3://{jobs_stack.bucket}/data/valid/" in log


def test_a_stack_without_a_training_role_says_what_to_pass(jobs_stack, caplog):
    outputs = json.loads(jobs_stack.outputs_file.read_text())
    del outputs["sagemaker_training_role_arn"]
    jobs_stack.outputs_file.write_text(json.dumps(outputs))
    code, log = failure(jobs_stack, caplog, "tune")
    assert code == 2
    assert "sagemaker_training_role_arn is unknown: pass --role-arn" in log


def test_flags_alone_need_no_terraform(jobs_stack, emulator, tmp_path):
    name = main(
        [
            "train",
            "--terraform-dir",
            str(tmp_path / "no-terraform-here"),
            "--prefix",
            jobs_stack.prefix,
            "--bucket",
            jobs_stack.bucket,
            "--role-arn",
            jobs_stack.role_arn,
            "--image-uri",
            TRAINING_IMAGE,
        ]
    )
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    assert job["RoleArn"] == jobs_stack.role_arn


@pytest.fixture
def no_region_configured(monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")


@pytest.mark.parametrize("terraform_dir_state", ["absent", "not initialised"])
def test_without_a_stack_it_says_so_in_one_line(
    tmp_path, caplog, no_region_configured, terraform_binary, terraform_dir_state
):
    terraform_dir = tmp_path / "terraform"
    if terraform_dir_state == "not initialised":
        shutil.copytree(
            REPO_ROOT / "terraform", terraform_dir, ignore=shutil.ignore_patterns(".terraform")
        )
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        main(["tune", "--dry-run", "--terraform-dir", str(terraform_dir)])
    assert exit_info.value.code == 2
    assert (
        f"no stack found in {terraform_dir}/ (run terraform init and terraform apply there, or "
        "pass --bucket, --role-arn and --image-uri (or --terraform-outputs FILE))" in caplog.text
    )
    assert "\x1b[" not in caplog.text
    assert "region" not in caplog.text
    assert len(caplog.records) == 1


def test_a_dry_run_takes_the_region_from_the_stack(jobs_stack, no_region_configured, capsys):
    outputs = json.loads(jobs_stack.outputs_file.read_text())
    outputs["region"] = {"sensitive": False, "type": "string", "value": "eu-west-1"}
    jobs_stack.outputs_file.write_text(json.dumps(outputs))
    jobs_stack.run("train", "--dry-run")
    request = json.loads(capsys.readouterr().out)
    assert json.loads(request["HyperParameters"]["sagemaker_region"]) == "eu-west-1"


@pytest.mark.parametrize("bucket", ["b", "s3://my-bucket", "My_Bucket", "my-bucket/data"])
def test_a_bucket_that_is_not_a_bucket_name_is_named(jobs_stack, caplog, bucket):
    code, log = failure(jobs_stack, caplog, "tune", "--dry-run", "--bucket", bucket)
    assert code == 2
    assert f"--bucket {bucket!r} is not a bucket name" in log


def test_flags_without_a_region_ask_only_for_the_region(
    jobs_stack, tmp_path, caplog, no_region_configured
):
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        main(
            [
                "tune",
                "--dry-run",
                "--terraform-dir",
                str(tmp_path / "nothing"),
                "--bucket",
                jobs_stack.bucket,
                "--role-arn",
                jobs_stack.role_arn,
                "--image-uri",
                TRAINING_IMAGE,
            ]
        )
    assert exit_info.value.code == 2
    assert caplog.messages == [
        "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION"
    ]
