"""The jobs CLI on the Terraform stack applied to the emulator: it finds bucket, role, image and
endpoint through the real ``terraform output -json``, and the roles Terraform made allow
exactly the S3 paths and image the jobs use."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from local_stack.emulator import client
from ml.s3_transfer import upload_dir
from mlops import specs
from mlops.cli import main
from tests.iam import inline_policy, policy_allows
from tests.model_monitor import records
from tests.stack import recorded_calls, recording_mode, unrecorded
from tests.training import wait_for_training_job, wait_for_tuning_job

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
    applied_stack, emulator, monkeypatch, capsys, caplog, local_mode, sample_dataset, tmp_path
):
    """Each mlops command on the applied stack as an operator runs it, the jobs run for real
    by local mode (nothing faked): features, tune on them, train from the best trial,
    register, reject, approve, transform, deploy, verify, status; each does what it says, and
    every AWS call they make (named by the User-Agent's app, see tests/stack.py) is one the
    operator policy, derived from the committed recording, allows."""
    app = applied_stack["apps"]["operator"]
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", app)
    monkeypatch.setenv("TF_APPEND_USER_AGENT", f"app/{app}")
    outputs, name = applied_stack["outputs"], applied_stack["name"]
    bucket = outputs["bucket_name"]
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="data/").get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])  # placeholders of the test above
    upload_dir(sample_dataset, f"s3://{bucket}/data/", client=s3)
    stack_args = ["--terraform-dir", str(applied_stack["terraform"].workdir), "--prefix", name]
    tiny = [arg for value in TINY for arg in ("--hyperparameter", value)]
    recorded_from = emulator.recorder.mark()

    features = main(["features", *stack_args, *tiny, "--hyperparameter", "pretrained=false"])
    features_job = wait_for_training_job(sagemaker, features)
    assert features_job["TrainingJobStatus"] == "Completed", features_job.get("FailureReason")
    assert features_job["RoleArn"] == outputs["sagemaker_training_role_arn"]
    assert s3.head_object(Bucket=bucket, Key=f"features/{features}/train.json")
    tuning = main(
        [
            "tune",
            *stack_args,
            *tiny,
            "--features-job",
            features,
            *("--max-jobs", "2", "--max-parallel-jobs", "1", "--strategy", "Random"),
            *("--epochs-range", "1", "2", "--batch-sizes", "16"),
        ]
    )
    tuned = wait_for_tuning_job(sagemaker, tuning)
    assert tuned["HyperParameterTuningJobStatus"] == "Completed", tuned.get("FailureReason")
    best = tuned["BestTrainingJob"]
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning
    )["TrainingJobSummaries"]
    assert [t["TrainingJobStatus"] for t in trials] == ["Completed", "Completed"]
    job = main(["train", *stack_args, "--from-tuning", tuning, *tiny])
    trained = wait_for_training_job(sagemaker, job)
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    assert specs.decode_hyperparameters(trained["HyperParameters"])["lr"] == float(
        best["TunedHyperParameters"]["lr"]
    )
    package = main(["register", *stack_args, "--from-job", job])
    refused = main(["register", *stack_args, "--from-job", job])
    try:
        assert approval(sagemaker, package) == "PendingManualApproval"
        main(["reject", *stack_args, refused])
        assert approval(sagemaker, refused) == "Rejected"
        main(["approve", *stack_args, package])
        assert approval(sagemaker, package) == "Approved"
        check_transform(stack_args, package, s3, bucket, sample_dataset, tmp_path, caplog)
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
        check_shadow(applied_stack, stack_args, package, s3, tmp_path)
        # The deployed monitor, run now: a report, unpublished, of a window that ends 5 minutes
        # back (capture files come late), before the shadow's captures.
        report = json.loads(main(["monitor", *stack_args, "--since", "1h"]))
        assert (report["endpoint"], report["published"]) == (outputs["endpoint_name"], False)
        assert report["metrics"]["CapturedRequests"] == 0
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
        "transform",
        "deploy",
        "verify",
        "status",
        "monitor",
        "shadow",
        "terraform output",
    }
    if recording_mode() is None:  # when recording, the stack's teardown writes them instead
        assert unrecorded(recorded) == [], "run `make iam-policies` and review the change"


def check_shadow(applied_stack, stack_args, package, s3, tmp_path) -> None:
    """The shadow commands on the stack: start names the approved version, the deployer's apply
    runs it beside the live model, report reads both variants' captures (one request, written
    here as data capture writes it: the stack's model is no real archive) and ModelLatency,
    promote refuses one request, stop clears the variable and the stack is applied back."""
    terraform, variables = applied_stack["terraform"], applied_stack["variables"]
    tfvars = tmp_path / "shadow.tfvars.json"
    main(["shadow", "start", *stack_args, "--model-package", package, "--tfvars", str(tfvars)])
    try:
        terraform.apply({**variables, **json.loads(tfvars.read_text())})
        running = terraform.outputs()["endpoint_shadow"]
        assert running["model_package_arn"] == package
        endpoint, when = applied_stack["outputs"]["endpoint_name"], datetime.now(UTC)
        for variant in (running["production_variant"], running["variant_name"]):
            line = records.record(
                records.photo((48, 48)), records.answer("001.A", 0.9), when, inference_id="one"
            )
            records.put_capture_file(s3, running["capture_s3_uri"], endpoint, variant, [line], when)
        report = json.loads(main(["shadow", "report", *stack_args, "--since", "1h"]))
        assert (report["paired"], report["agreement"], report["candidate"]) == (1, 1.0, package)
        with pytest.raises(SystemExit) as refused:
            main(["shadow", "promote", *stack_args, "--since", "1h", "--tfvars", str(tfvars)])
        assert refused.value.code == 1
        main(["shadow", "stop", *stack_args, "--tfvars", str(tfvars)])
        assert json.loads(tfvars.read_text()) == {}
    finally:
        terraform.apply(variables)
    assert terraform.outputs().get("endpoint_shadow") is None  # a null output is not listed


def check_transform(stack_args, package, s3, bucket, dataset, tmp_path, caplog) -> None:
    """The acceptance run of batch transform: 20 photos under transform/in/, 3 of them bad (not
    a photo, a cut-off JPEG, one over --max-payload); the job ends Failed, as SageMaker ends a
    job with any failed object, and the results file has 20 lines, 17 answers and 3 errors,
    the command exiting non-zero naming the 3."""
    photos = sorted(dataset.glob("test/*/*.jpg"))[:17]
    assert len(photos) == 17
    good = [f"transform/in/acceptance/{photo.parent.name}/{photo.name}" for photo in photos]
    for photo, key in zip(photos, good, strict=True):
        s3.put_object(Bucket=bucket, Key=key, Body=photo.read_bytes())
    bad = {
        "transform/in/acceptance/notes.txt": b"not a photo",
        "transform/in/acceptance/cut.jpg": photos[0].read_bytes()[:300],
        "transform/in/acceptance/huge.jpg": photos[0].read_bytes() + bytes(2**20),
    }
    for key, body in bad.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    results = tmp_path / "transform.jsonl"
    caplog.clear()
    with pytest.raises(SystemExit) as ended:
        main(
            [
                "transform",
                *stack_args,
                *("--model-package", package, "--results", str(results)),
                *("--input", f"s3://{bucket}/transform/in/acceptance/"),
                *("--output", f"s3://{bucket}/transform/out/acceptance/"),
                *("--instance-type", "ml.m5.large", "--max-payload", "1", "--poll-seconds", "1"),
            ]
        )
    assert ended.value.code == 1
    lines = {line["key"]: line for line in map(json.loads, results.read_text().splitlines())}
    assert sorted(lines) == sorted(good + list(bad))
    assert {key for key, line in lines.items() if line["status"] == "answered"} == set(good)
    assert all(lines[key]["model"] == package for key in good)
    assert lines["transform/in/acceptance/huge.jpg"]["error"].startswith("ClientError: 413")
    (failure,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("3 of 20")]
    assert all(key in failure for key in bad)
    outputs = s3.list_objects_v2(Bucket=bucket, Prefix="transform/out/acceptance/")["Contents"]
    assert len(outputs) == 17


def approval(sagemaker, package: str) -> str:
    return sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"]


# ml/train.py's smallest real run: ResNet18 from scratch at 32 px, one epoch at most.
TINY = ("arch=resnet18", "image-size=32", "workers=0", "seed=7")
