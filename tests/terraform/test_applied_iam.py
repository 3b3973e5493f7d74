"""Least privilege, proven on the policies the apply actually created in the emulator.

moto checks resource ARNs only for a few services, so scoping is proven here with an IAM
policy evaluator (moto's IAMPolicy, the engine behind its own IAM enforcement: Allow/Deny,
action and resource wildcards) on each role's rendered policy, and linted with parliament.
"""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string, iam_definition

from local_stack.emulator import client
from tests.iam import inline_policy
from tests.iam import policy_allows as allowed

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.slow]

# Every "*" resource in the stack, by role suffix and action, with the reason it cannot be
# narrowed.
WILDCARD_RESOURCES = {
    ("-endpoint", "ecr:GetAuthorizationToken"): "ECR login has no resource-level permissions",
    (
        "-endpoint",
        "cloudwatch:PutMetricData",
    ): "no resource-level permissions; a cloudwatch:namespace condition narrows it",
    ("-training", "ecr:GetAuthorizationToken"): "ECR login has no resource-level permissions",
    ("-transform", "ecr:GetAuthorizationToken"): "ECR login has no resource-level permissions",
    (
        "-transform",
        "cloudwatch:PutMetricData",
    ): "no resource-level permissions; a cloudwatch:namespace condition narrows it",
    (
        "-training",
        "cloudwatch:PutMetricData",
    ): "no resource-level permissions; a cloudwatch:namespace condition narrows it",
    (
        "-monitor",
        "cloudwatch:PutMetricData",
    ): "no resource-level permissions; a cloudwatch:namespace condition narrows it",
    ("-execution", "sagemaker:ListTrainingJobs"): "List calls have no resource-level permissions",
    (
        "-execution",
        "sagemaker:ListHyperParameterTuningJobs",
    ): "List calls have no resource-level permissions",
    **{
        ("-instance", action): "the SSM Agent's Session Manager calls have no resource-level "
        "permissions (Service Authorization Reference, Amazon Message Gateway Service)"
        for action in (
            "ssm:UpdateInstanceInformation",
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        )
    },
}


@pytest.fixture(scope="module")
def policies(applied_stack, emulator) -> dict[str, dict]:
    """Role name -> its inline policy document, read back from IAM."""
    iam = client("iam", emulator)
    found = {}
    for role in iam.list_roles()["Roles"]:
        if not role["RoleName"].startswith(applied_stack["name"]):
            continue
        found[role["RoleName"]] = inline_policy(emulator, role["RoleName"])
    assert len(found) == 8  # with the model monitor's function and schedule roles
    return found


def role(policies: dict, suffix: str) -> dict:
    (document,) = [doc for name, doc in policies.items() if name.endswith(suffix)]
    return document


def sagemaker_actions() -> list[str]:
    (service,) = [s for s in iam_definition if s["prefix"] == "sagemaker"]
    return [f"sagemaker:{privilege['privilege']}" for privilege in service["privileges"]]


def test_parliament_finds_nothing(policies):
    for name, document in policies.items():
        findings = analyze_policy_string(json.dumps(document)).findings
        assert findings == [], f"{name}: {[(f.issue, f.detail) for f in findings]}"


def test_lambda_may_invoke_only_its_endpoint(policies, applied_stack):
    document = role(policies, "-invoker")
    endpoint = applied_stack["outputs"]["endpoint_arn"]
    other = endpoint.rsplit("/", 1)[0] + "/another-endpoint"
    assert allowed(document, "sagemaker:InvokeEndpoint", endpoint)
    assert not allowed(document, "sagemaker:InvokeEndpoint", other)
    assert not allowed(document, "sagemaker:InvokeEndpoint", "*")
    others = [a for a in sagemaker_actions() if a != "sagemaker:InvokeEndpoint"]
    assert len(others) > 100
    granted = [a for a in others if allowed(document, a, endpoint) or allowed(document, a, "*")]
    assert granted == [], f"the Lambda may also {granted}"


def test_lambda_reads_only_the_inference_input_prefix(policies, applied_stack):
    document = role(policies, "-invoker")
    bucket = f"arn:aws:s3:::{applied_stack['outputs']['bucket_name']}"
    assert allowed(document, "s3:GetObject", f"{bucket}/inference-input/dog.jpg")
    assert not allowed(document, "s3:GetObject", f"{bucket}/data/train/x.jpg")
    assert not allowed(document, "s3:PutObject", f"{bucket}/inference-input/dog.jpg")


def test_ec2_role_reads_data_and_code_writes_its_own_run_only(policies, applied_stack):
    document = role(policies, "-training-instance")
    bucket = f"arn:aws:s3:::{applied_stack['outputs']['bucket_name']}"
    run = applied_stack["outputs"]["training_model_s3_prefix"].split("/", 3)[3]  # models/<run>/
    assert allowed(document, "s3:GetObject", f"{bucket}/data/train/001.A/x.jpg")
    assert allowed(document, "s3:GetObject", f"{bucket}/code/code.tar.gz")
    assert allowed(document, "s3:PutObject", f"{bucket}/{run}model.tar.gz")
    assert allowed(document, "s3:PutObject", f"{bucket}/{run}_SUCCESS")
    assert not allowed(document, "s3:PutObject", f"{bucket}/models/another-run/model.tar.gz")
    assert not allowed(document, "s3:GetObject", f"{bucket}/models/another-run/model.tar.gz")
    assert not allowed(document, "ssm:GetParameter", "*")
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not allowed(document, action, f"{bucket}/data/train/001.A/x.jpg"), action
        assert not allowed(document, action, f"{bucket}/code/code.tar.gz"), action
    assert not allowed(document, "s3:DeleteObject", f"{bucket}/{run}model.tar.gz")
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::another-bucket/data/x.jpg")


def test_endpoint_role_reads_models_and_writes_captures_only(policies, applied_stack):
    document = role(policies, "-endpoint")
    bucket = f"arn:aws:s3:::{applied_stack['outputs']['bucket_name']}"
    assert allowed(document, "s3:GetObject", f"{bucket}/models/run-1/model.tar.gz")
    assert not allowed(document, "s3:GetObject", f"{bucket}/data/train/x.jpg")
    assert not allowed(document, "s3:PutObject", f"{bucket}/models/run-1/model.tar.gz")
    capture = f"{bucket}/capture/{applied_stack['outputs']['endpoint_name']}/AllTraffic/x.jsonl"
    assert allowed(document, "s3:PutObject", capture)
    assert not allowed(document, "s3:GetObject", capture)
    assert not allowed(document, "s3:PutObject", f"{bucket}/data/capture/x.jsonl")
    group = f"/aws/sagemaker/Endpoints/{applied_stack['outputs']['endpoint_name']}"
    assert allowed(
        document,
        "logs:PutLogEvents",
        f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:log-stream:x",
    )
    assert not allowed(
        document,
        "logs:PutLogEvents",
        "arn:aws:logs:us-east-1:123456789012:log-group:/other:log-stream:x",
    )
    assert allowed(
        document,
        "ecr:BatchGetImage",
        "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference",
    )
    assert not allowed(
        document, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:763104351884:repository/other"
    )


def test_transform_role_reads_only_transform_in_and_writes_only_transform_out(
    policies, applied_stack
):
    """What a transform job's model role needs (SageMaker developer guide, "How to use
    SageMaker AI execution roles": CreateModel's role serves batch transform), no more."""
    document = role(policies, "-transform")
    assert applied_stack["outputs"]["transform_role_arn"].endswith(
        f"/{applied_stack['name']}-transform"
    )
    bucket_name = applied_stack["outputs"]["bucket_name"]
    bucket = f"arn:aws:s3:::{bucket_name}"
    photo = f"{bucket}/transform/in/batch-1/dog.jpg"
    assert allowed(document, "s3:GetObject", photo)
    assert allowed(document, "s3:GetObject", f"{bucket}/models/run-1/model.tar.gz")
    assert allowed(document, "s3:PutObject", f"{bucket}/transform/out/batch-1/dog.jpg.out")
    assert allowed(document, "s3:ListBucket", bucket, {"s3:prefix": "transform/in/batch-1/"})
    for outside in ("data/train/x.jpg", "capture/x.jsonl", "transform/out/batch-1/dog.jpg.out"):
        assert not allowed(document, "s3:GetObject", f"{bucket}/{outside}"), outside
    for outside in ("transform/in/batch-1/dog.jpg", "models/run-1/model.tar.gz", "data/x.jpg"):
        assert not allowed(document, "s3:PutObject", f"{bucket}/{outside}"), outside
    assert not allowed(document, "s3:ListBucket", bucket, {"s3:prefix": "data/"})
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::other-bucket/transform/in/x.jpg")
    assert allowed(
        document,
        "logs:PutLogEvents",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TransformJobs:log-stream:x",
    )
    assert not allowed(
        document,
        "logs:PutLogEvents",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x:log-stream:x",
    )


def test_training_role_reads_data_writes_models_and_checkpoints(policies, applied_stack):
    document = role(policies, "-training")
    bucket = f"arn:aws:s3:::{applied_stack['outputs']['bucket_name']}"
    assert allowed(document, "s3:GetObject", f"{bucket}/data/train/x.jpg")
    assert allowed(document, "s3:PutObject", f"{bucket}/models/job-1/output/model.tar.gz")
    assert allowed(document, "s3:PutObject", f"{bucket}/checkpoints/job-1/checkpoint.pt")
    assert allowed(document, "s3:PutObject", f"{bucket}/features/job-1/train.pt")
    assert allowed(document, "s3:GetObject", f"{bucket}/features/job-1/train.json")
    assert not allowed(document, "s3:PutObject", f"{bucket}/data/train/x.jpg")
    assert not allowed(document, "s3:DeleteObject", f"{bucket}/data/train/x.jpg")
    assert not allowed(document, "s3:DeleteObject", f"{bucket}/models/job-1/output/model.tar.gz")


def test_training_jobs_register_pending_versions_in_this_group_only(policies, applied_stack):
    document = role(policies, "-training")
    group = applied_stack["outputs"]["model_package_group_arn"]
    version = group.replace(":model-package-group/", ":model-package/") + "/7"
    pending = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    assert allowed(document, "sagemaker:CreateModelPackage", version, pending)
    assert allowed(document, "sagemaker:CreateModelPackage", group, pending)
    # Never approved by the job that trained it, nor anywhere else.
    approved = {"sagemaker:ModelApprovalStatus": "Approved"}
    assert not allowed(document, "sagemaker:CreateModelPackage", version, approved)
    other = version.replace(applied_stack["outputs"]["model_package_group_name"], "other-models")
    assert not allowed(document, "sagemaker:CreateModelPackage", other, pending)
    assert not allowed(document, "sagemaker:UpdateModelPackage", version)


def test_the_notebook_reviews_versions_of_this_group_only(policies, applied_stack):
    document = role(policies, "-notebook-execution")
    outputs = applied_stack["outputs"]
    group = outputs["model_package_group_arn"]
    version = group.replace(":model-package-group/", ":model-package/") + "/7"
    other = version.replace(outputs["model_package_group_name"], "other-models")
    pending = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    assert allowed(document, "sagemaker:CreateModelPackage", version, pending)
    assert not allowed(
        document,
        "sagemaker:CreateModelPackage",
        version,
        {"sagemaker:ModelApprovalStatus": "Approved"},
    )
    for action in ("sagemaker:UpdateModelPackage", "sagemaker:DescribeModelPackage"):
        assert allowed(document, action, version), action
        assert not allowed(document, action, other), action
    assert allowed(document, "sagemaker:ListModelPackages", group)
    assert not allowed(document, "sagemaker:ListModelPackages", other.rsplit("/", 1)[0])
    bucket = f"arn:aws:s3:::{outputs['bucket_name']}"
    name = applied_stack["name"]
    metrics = f"{bucket}/registry/{outputs['model_package_group_name']}/{name}-train-1/m.json"
    assert allowed(document, "s3:PutObject", metrics)
    output = f"{bucket}/models/{name}-train-1/output/output.tar.gz"
    assert allowed(document, "s3:GetObject", output)
    assert not allowed(document, "s3:PutObject", output)
    assert not allowed(
        document, "s3:GetObject", f"{bucket}/models/{name}-train-1/output/model.tar.gz"
    )


def test_every_wildcard_resource_is_listed_with_its_reason(policies):
    wildcards = set()
    for name, document in policies.items():
        for statement in document["Statement"]:
            resources = statement["Resource"]
            if "*" in ([resources] if isinstance(resources, str) else resources):
                actions = statement["Action"]
                for action in [actions] if isinstance(actions, str) else actions:
                    suffix = "-" + name.rsplit("-", 1)[-1]
                    wildcards.add((suffix, action))
    assert wildcards == set(WILDCARD_RESOURCES)


def test_the_notebook_passes_only_the_training_role_and_keeps_to_its_project(
    policies, applied_stack
):
    """What the team does from the notebook, and nothing more (modules/notebook_instance)."""
    document = role(policies, "-notebook-execution")
    outputs, name = applied_stack["outputs"], applied_stack["name"]
    account, region = "123456789012", "us-east-1"
    bucket = f"arn:aws:s3:::{outputs['bucket_name']}"
    training_role = outputs["sagemaker_training_role_arn"]
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert allowed(document, "iam:PassRole", training_role, to_sagemaker)
    # The condition holds the role to SageMaker: not to EC2 (an instance with it), nor when
    # the service is not said.
    assert not allowed(
        document, "iam:PassRole", training_role, {"iam:PassedToService": "ec2.amazonaws.com"}
    )
    assert not allowed(document, "iam:PassRole", training_role, {})
    for other in (outputs["endpoint_execution_role_arn"], outputs["lambda_role_arn"]):
        assert not allowed(document, "iam:PassRole", other, to_sagemaker), other
    assert not allowed(document, "iam:PassRole", f"arn:aws:iam::{account}:role/admin")
    jobs = f"arn:aws:sagemaker:{region}:{account}"
    assert allowed(document, "sagemaker:CreateTrainingJob", f"{jobs}:training-job/{name}-train-1")
    assert allowed(
        document,
        "sagemaker:CreateHyperParameterTuningJob",
        f"{jobs}:hyper-parameter-tuning-job/{name}-tune-1",
    )
    for action in ("sagemaker:CreateTrainingJob", "sagemaker:StopTrainingJob"):
        assert not allowed(document, action, f"{jobs}:training-job/another-project-1"), action
    assert allowed(document, "s3:GetObject", f"{bucket}/data/train/x.jpg")
    workspace = f"{bucket}/notebooks/{outputs['notebook_name']}/analysis.ipynb"
    assert allowed(document, "s3:PutObject", workspace)
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not allowed(document, action, f"{bucket}/data/train/x.jpg"), action
        assert not allowed(document, action, f"{bucket}/models/run-1/model.tar.gz"), action
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::another-bucket/data/x.jpg")
    assert allowed(document, "s3:GetObject", f"{bucket}/features/{name}-features-1/train.json")
    for prefix, listable in (("data/train/", True), ("features/", True), ("models/", False)):
        assert allowed(document, "s3:ListBucket", bucket, {"s3:prefix": prefix}) is listable
    # What python -m mlops status and verify read, for this project only.
    serving = f"arn:aws:sagemaker:{region}:{account}"
    assert allowed(document, "sagemaker:DescribeEndpoint", outputs["endpoint_arn"])
    assert allowed(
        document, "sagemaker:DescribeEndpointConfig", f"{serving}:endpoint-config/{name}-1a2b3c4d"
    )
    assert allowed(document, "sagemaker:DescribeModel", f"{serving}:model/{name}-1a2b3c4d")
    assert not allowed(document, "sagemaker:DescribeModel", f"{serving}:model/another-1a2b3c4d")
    alarms = f"arn:aws:cloudwatch:{region}:{account}:alarm"
    assert allowed(document, "cloudwatch:DescribeAlarms", f"{alarms}:{name}-rollback-errors-5xx")
    assert not allowed(document, "cloudwatch:DescribeAlarms", f"{alarms}:another-alarm")
    assert allowed(document, "sagemaker:InvokeEndpoint", outputs["endpoint_arn"])
    assert allowed(document, "sagemaker:StopNotebookInstance", outputs["notebook_arn"].lower())
    assert not allowed(
        document, "sagemaker:StopNotebookInstance", f"{jobs}:notebook-instance/someone-else"
    )
