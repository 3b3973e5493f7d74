"""The root module applied to the emulator (the ``applied_stack`` session fixture), destroyed
at the end; the teardown fails when anything is left behind.

What is switched off for the emulator, and why, is ``local_stack.terraform.emulator_variables``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from local_stack.aws import client
from local_stack.emulator_shims import SHIM_NAMES
from local_stack.terraform import Terraform, emulator_variables, make_workspace

logger = logging.getLogger(__name__)


@contextmanager
def apply_stack(root: Path, emulator) -> Iterator[dict]:
    emulator.require(SHIM_NAMES, "the stack's terraform apply and its assertions")
    workspace = make_workspace(root)
    terraform = Terraform(workspace)
    terraform.use_emulator(emulator)
    name = f"dbt-{uuid.uuid4().hex[:6]}"
    bucket = f"{name}-123456789012"
    ec2 = client("ec2", emulator)
    subnet = ec2.describe_subnets()["Subnets"][0]
    default_group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    variables = {
        **emulator_variables(emulator, name),
        "model_data_url": f"s3://{bucket}/models/run-1/model.tar.gz",
        "lambda_s3_input_prefix": "inference-input/",
        "alarm_email": "ops@example.com",
        "create_http_api": "true",
        "http_api": {"cors_allow_origins": ["https://dogs.example.com"]},
        "create_notebook_instance": "true",
        "notebook": {
            "subnet_id": subnet["SubnetId"],
            "security_group_ids": [default_group["GroupId"]],
            "default_code_repository": "https://github.com/example/dog-breeds.git",
        },
        "tags": {"Team": "ml-platform"},
    }
    terraform.init()
    started = time.perf_counter()
    terraform.apply(variables)
    timings = {
        "apply_s": round(time.perf_counter() - started, 1),
        "resources": len(
            [
                r
                for r in terraform.state_resources()
                if not r.startswith("data.") and ".data." not in r
            ]
        ),
    }
    yield {
        "terraform": terraform,
        "variables": variables,
        "name": name,
        "outputs": terraform.outputs(),
        "timings": timings,
    }
    started = time.perf_counter()
    terraform.destroy(variables)
    timings["destroy_s"] = round(time.perf_counter() - started, 1)
    logger.warning("emulator stack: %s", timings)
    assert_nothing_left(terraform, emulator, name)


def assert_nothing_left(terraform: Terraform, emulator, name: str) -> None:
    """Nothing of the stack remains, as listed through boto3."""
    assert terraform.state_resources() == []

    s3 = client("s3", emulator)
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(name)]
    iam = client("iam", emulator)
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(name)]
    assert not [
        p
        for p in iam.list_instance_profiles()["InstanceProfiles"]
        if p["InstanceProfileName"].startswith(name)
    ]
    sagemaker = client("sagemaker", emulator)
    # Filtered here: moto's ListModels ignores NameContains.
    for listing, key, field in (
        (sagemaker.list_endpoints, "Endpoints", "EndpointName"),
        (sagemaker.list_endpoint_configs, "EndpointConfigs", "EndpointConfigName"),
        (sagemaker.list_models, "Models", "ModelName"),
    ):
        assert not [item for item in listing()[key] if name in item[field]], key
    functions = client("lambda", emulator).list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith(name)]
    assert not client("logs", emulator).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{name}"
    )["logGroups"]
    assert not client("cloudwatch", emulator).describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert not [g for g in groups if g["ModelPackageGroupName"].startswith(name)]
    notebooks = sagemaker.list_notebook_instances()["NotebookInstances"]
    assert not [n for n in notebooks if n["NotebookInstanceName"].startswith(name)]
    # moto has no ListNotebookInstanceLifecycleConfigs: ask for the stack's one by name.
    with pytest.raises(ClientError):
        sagemaker.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=f"{name}-notebook-autostop"
        )
    apis = client("apigatewayv2", emulator).get_apis()["Items"]
    assert not [a for a in apis if a["Name"].startswith(name)]
    topics = client("sns", emulator).list_topics()["Topics"]
    assert not [t for t in topics if t["TopicArn"].rsplit(":", 1)[-1].startswith(name)]
    aliases = client("kms", emulator).list_aliases()["Aliases"]
    assert not [a for a in aliases if a["AliasName"].startswith(f"alias/{name}")]
    assert not client("application-autoscaling", emulator).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    ec2 = client("ec2", emulator)
    reservations = ec2.describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"{name}-training"]}]
    )["Reservations"]
    states = {i["State"]["Name"] for r in reservations for i in r["Instances"]}
    assert states <= {"terminated"}
    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert not [g for g in groups if g["GroupName"].startswith(name)]
