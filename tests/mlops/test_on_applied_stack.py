"""The jobs CLI on the Terraform stack applied to the emulator: it finds bucket, role, image and
endpoint through the real ``terraform output -json``, and the roles Terraform made allow
exactly the S3 paths and image the jobs use."""

from __future__ import annotations

import pytest

from local_stack.emulator import client
from mlops.cli import main
from tests.iam import inline_policy, policy_allows
from tests.mlops.conftest import output_archive
from tests.stack import recorded_calls, recording_mode, unrecorded

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.slow]


def test_jobs_use_the_stack_and_its_roles_allow_them(applied_stack, emulator, capsys):
    outputs = applied_stack["outputs"]
    bucket = outputs["bucket_name"]
    s3 = client("s3", emulator)
    for split in ("train", "valid", "test"):
        s3.put_object(Bucket=bucket, Key=f"data/{split}/001.Affenpinscher/1.jpg", Body=b"jpeg")
    stack_args = ["--terraform-dir", str(applied_stack["terraform"].workdir), "--prefix", "stk"]

    name = main(["train", *stack_args, "--spot", "--instance-count", "2"])

    job = client("sagemaker", emulator).describe_training_job(TrainingJobName=name)
    assert job["RoleArn"] == outputs["sagemaker_training_role_arn"]
    image = job["AlgorithmSpecification"]["TrainingImage"]
    assert image == outputs["training_image_uri"]
    assert image == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-cpu-py312"

    policy = inline_policy(emulator, job["RoleArn"].rsplit("/", 1)[1])
    objects = f"arn:aws:s3:::{bucket}"
    needed = [
        ("s3:GetObject", f"{objects}/code/{name}/code.tar.gz"),
        ("s3:GetObject", f"{objects}/data/train/001.Affenpinscher/1.jpg"),
        ("s3:PutObject", f"{objects}/models/{name}/output/model.tar.gz"),
        ("s3:PutObject", f"{objects}/checkpoints/{name}/{name}/checkpoint.pt"),
        ("s3:GetObject", f"{objects}/checkpoints/{name}/{name}/checkpoint.pt"),
        ("s3:DeleteObject", f"{objects}/checkpoints/{name}/{name}/checkpoint.pt"),
        ("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-training"),
    ]
    for action, resource in needed:
        assert policy_allows(policy, action, resource), f"{action} on {resource}"
    assert not policy_allows(policy, "s3:PutObject", f"{objects}/code/{name}/code.tar.gz")
    assert not policy_allows(policy, "s3:PutObject", f"{objects}/data/train/x.jpg")

    # The job's model, once there, is deployable: inside the prefix the endpoint role reads.
    model = f"models/{name}/output/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=model, Body=b"tar")
    capsys.readouterr()
    main(["deploy", *stack_args, "--from-job", name])
    assert capsys.readouterr().out == f'model_data_url = "s3://{bucket}/{model}"\n'
    endpoint_policy = inline_policy(
        emulator, outputs["endpoint_execution_role_arn"].rsplit("/", 1)[1]
    )
    assert policy_allows(endpoint_policy, "s3:GetObject", f"{objects}/{model}")


def test_every_operator_command_runs_on_the_stack(
    applied_stack, emulator, monkeypatch, trained_model, capsys
):
    """Each mlops command on the applied stack as an operator runs it: features, tune,
    train, register, reject, approve, deploy, verify, status; each does what it says, and
    every AWS call they make (named by the User-Agent's app, see tests/stack.py) is one the
    operator policy, derived from the committed recording, allows."""
    app = applied_stack["apps"]["operator"]
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", app)
    monkeypatch.setenv("TF_APPEND_USER_AGENT", f"app/{app}")
    outputs, name = applied_stack["outputs"], applied_stack["name"]
    bucket = outputs["bucket_name"]
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    for split in ("train", "valid", "test"):
        s3.put_object(Bucket=bucket, Key=f"data/{split}/001.Affenpinscher/1.jpg", Body=b"jpeg")
    stack_args = ["--terraform-dir", str(applied_stack["terraform"].workdir), "--prefix", name]
    recorded_from = emulator.recorder.mark()

    features = main(["features", *stack_args, "--hyperparameter", "arch=resnet18"])
    features_job = sagemaker.describe_training_job(TrainingJobName=features)
    assert features_job["RoleArn"] == outputs["sagemaker_training_role_arn"]
    assert features_job["HyperParameters"]["features-only"] == "true"
    for split in ("train", "valid", "test"):  # what the job would upload
        s3.put_object(Bucket=bucket, Key=f"features/{features}/{split}.json", Body=b"{}")
    tuning = main(
        [
            "tune",
            *stack_args,
            "--features-job",
            features,
            "--max-jobs",
            "2",
            "--max-parallel-jobs",
            "1",
        ]
    )
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning
    )["TrainingJobSummaries"]
    assert len(trials) == 2
    job = main(["train", *stack_args, "--hyperparameter", "arch=resnet18"])
    model = sagemaker.describe_training_job(TrainingJobName=job)["ModelArtifacts"]
    key = model["S3ModelArtifacts"].removeprefix(f"s3://{bucket}/")
    s3.put_object(Bucket=bucket, Key=key, Body=b"model")
    s3.put_object(
        Bucket=bucket,
        Key=key.replace("model.tar.gz", "output.tar.gz"),
        Body=output_archive((trained_model.model_dir / "metrics.json").read_bytes()),
    )
    package = main(["register", *stack_args, "--from-job", job])
    refused = main(["register", *stack_args, "--from-job", job])
    try:
        assert approval(sagemaker, package) == "PendingManualApproval"
        main(["reject", *stack_args, refused])
        assert approval(sagemaker, refused) == "Rejected"
        main(["approve", *stack_args, package])
        assert approval(sagemaker, package) == "Approved"
        capsys.readouterr()
        main(["deploy", *stack_args, "--model-package", package])
        assert capsys.readouterr().out == f'model_package_arn = "{package}"\n'
        served = main(["verify", *stack_args, "--wait-timeout", "5", "--poll-seconds", "1"])
        assert outputs["endpoint_config_name"] in served
        overview = main(["status", *stack_args])
        assert all(named in overview for named in (tuning, job, package, refused))
        count = main(["status", *stack_args, "--desired-instance-count"])
        assert count.isdigit() or count == ""
        assert trials[0]["TrainingJobName"] in main(["status", *stack_args, "--tuning-job", tuning])
    finally:  # Terraform deletes the registry only once it holds no version
        for version in (package, refused):
            sagemaker.delete_model_package(ModelPackageName=version)

    recorded = recorded_calls(
        emulator.recorder.since(recorded_from),
        applied_stack["recording_names"],
        applied_stack["apps"],
    )
    assert set(recorded["operator"]) >= {
        "features",
        "tune",
        "train",
        "register",
        "reject",
        "approve",
        "deploy",
        "verify",
        "status",
        "terraform output",
    }
    if recording_mode() is None:  # when recording, the stack's teardown writes them instead
        assert unrecorded(recorded) == [], "run `make iam-policies` and review the change"


def approval(sagemaker, package: str) -> str:
    return sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"]
