"""``features`` and ``tune --features-job`` against the emulator: one job computes the cache
into s3://BUCKET/features/JOB/, and tuning trials train only the head on it."""

from __future__ import annotations

import json
import logging

import pytest

from local_stack.emulator import client

pytestmark = pytest.mark.integration


def hyperparameters(encoded: dict) -> dict:
    return {name: json.loads(value) for name, value in encoded.items()}


@pytest.fixture
def features_job(jobs_stack, emulator) -> str:
    """A finished features job whose cache is in the bucket (the emulator runs no
    container, so the manifests the job would upload are put there by hand)."""
    name = jobs_stack.run(
        "features", "--hyperparameter", "arch=resnet18", "--hyperparameter", "image-size=96"
    )
    s3 = client("s3", emulator)
    for split in ("train", "valid", "test"):
        s3.put_object(Bucket=jobs_stack.bucket, Key=f"features/{name}/{split}.json", Body=b"{}")
    return name


def test_a_features_job_computes_the_cache_and_uploads_it(jobs_stack, emulator, features_job):
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=features_job)
    values = hyperparameters(job["HyperParameters"])
    assert values["features-only"] is True
    assert "feature-cache" not in values  # ml/train.py's own on SageMaker: /opt/ml/features
    assert values["features-s3-uri"] == f"s3://{jobs_stack.bucket}/features/{features_job}/"
    assert values["freeze-backbone"] is True
    assert values["augment"] is False
    assert (values["arch"], values["image-size"]) == ("resnet18", 96)
    channels = {c["ChannelName"] for c in job["InputDataConfig"]}
    assert channels == {"train", "valid", "test"}
    assert features_job.startswith(f"{jobs_stack.prefix}-features-")


def test_tuning_on_features_feeds_trials_the_cache_on_a_small_instance(
    jobs_stack, emulator, features_job
):
    name = jobs_stack.run("tune", "--features-job", features_job)
    tuning = client("sagemaker", emulator).describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )
    definition = tuning["TrainingJobDefinition"]
    (channel,) = definition["InputDataConfig"]
    assert channel["ChannelName"] == "features"
    source = channel["DataSource"]["S3DataSource"]["S3Uri"]
    assert source == f"s3://{jobs_stack.bucket}/features/{features_job}/"
    static = hyperparameters(definition["StaticHyperParameters"])
    assert static["freeze-backbone"] is True
    assert static["augment"] is False
    assert (static["arch"], static["image-size"]) == ("resnet18", 96)
    assert "feature-cache" not in static  # trials find it in $SM_CHANNEL_FEATURES
    assert definition["ResourceConfig"]["InstanceType"] == "ml.m5.large"


def failure(jobs_stack, caplog, *args: str) -> str:
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit):
        jobs_stack.run(*args)
    return caplog.text


def test_trials_must_keep_the_features_shape(jobs_stack, caplog, features_job):
    log = failure(
        jobs_stack,
        caplog,
        "tune",
        "--features-job",
        features_job,
        "--hyperparameter",
        "arch=resnet50",
    )
    assert "arch must match the features job's" in log


def test_only_a_finished_features_job_serves(jobs_stack, caplog, emulator):
    plain = jobs_stack.run("train")
    log = failure(jobs_stack, caplog, "tune", "--features-job", plain)
    assert f"--features-job {plain} is not a features job" in log
    missing = jobs_stack.run("features")
    log = failure(jobs_stack, caplog, "tune", "--features-job", missing)
    assert "train.json is missing: did the features job finish?" in log


def test_the_final_model_after_tuning_on_features_trains_on_images_with_augmentation(
    jobs_stack, emulator, features_job, caplog
):
    tuning = jobs_stack.run("tune", "--features-job", features_job)
    with caplog.at_level(logging.INFO, logger="mlops"):
        name = jobs_stack.run("train", "--from-tuning", tuning)
    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    values = hyperparameters(job["HyperParameters"])
    assert "augment" not in values  # ml/train.py's default: on
    assert "freeze-backbone" not in values
    assert (values["arch"], values["image-size"]) == ("resnet18", 96)
    assert {c["ChannelName"] for c in job["InputDataConfig"]} == {"train", "valid", "test"}
    assert "the trials trained a head on cached features" in caplog.text
