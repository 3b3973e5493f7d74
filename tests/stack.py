"""The root module applied to the emulator (the ``applied_stack`` session fixture), destroyed
at the end; the teardown fails when anything is left behind.

What is switched off for the emulator, and why, is terraform/emulator.tfvars.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from iam_policies import policies
from iam_policies.calls import iam_calls
from local_stack.demo.terraform import Terraform, make_workspace
from local_stack.emulator import SHIM_NAMES, client, client_factory

logger = logging.getLogger(__name__)


STATE_KEY = "dog-breeds/terraform.tfstate"


class LockWatcher:
    """Polls the state's lock file (``<key>.tflock``) while a terraform command runs: what
    it held, each time it was seen."""

    def __init__(self, s3, bucket: str, key: str):
        self.s3, self.bucket, self.key = s3, bucket, f"{key}.tflock"
        self.seen: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            try:
                body = self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
            except ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchKey":
                    raise
                continue
            self.seen.append(json.loads(body))

    def __enter__(self) -> LockWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bootstrap_state_bucket(workspace: Path, emulator, bucket: str, name: str) -> Terraform:
    """terraform/bootstrap applied to the emulator: the bucket the stack's state lives in,
    and the policies of who deploys and operates the stack ``name``."""
    bootstrap = Terraform(workspace / "bootstrap")
    bootstrap.use_emulator(emulator)
    bootstrap.init()
    bootstrap.apply({"bucket_name": bucket, "region": emulator.region, "stack_name": name})
    return bootstrap


def delete_state_bucket(s3, bucket: str) -> None:
    """What prevent_destroy keeps Terraform from doing: every version, then the bucket."""
    listing = s3.list_object_versions(Bucket=bucket)
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)


@contextmanager
def apply_stack(root: Path, emulator) -> Iterator[dict]:
    """The root module as a team applies it: its state in an S3 bucket made by
    terraform/bootstrap, locked by the S3 backend's lock file (watched during the apply)."""
    emulator.require(
        SHIM_NAMES, "the stack's terraform apply and its assertions", client_factory(emulator)
    )
    workspace = make_workspace(root)
    name = f"dbt-{uuid.uuid4().hex[:6]}"
    bucket = f"{name}-123456789012"
    state_bucket = f"tfstate-{name}"
    s3 = client("s3", emulator)
    bootstrap = bootstrap_state_bucket(workspace, emulator, state_bucket, name)
    terraform = Terraform(workspace)
    terraform.use_emulator(emulator, state=(state_bucket, STATE_KEY))
    # The deployer's and the operator's calls, told apart by their User-Agent (the operator
    # test runs the mlops commands with AWS_SDK_UA_APP_ID and TF_APPEND_USER_AGENT set).
    apps = {"deployer": f"{name}-deploy", "operator": f"{name}-operate"}
    terraform.env["TF_APPEND_USER_AGENT"] = f"app/{apps['deployer']}"
    recorded_from = emulator.recorder.mark() if emulator.recorder else None
    ec2 = client("ec2", emulator)
    subnet = ec2.describe_subnets()["Subnets"][0]
    default_group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    variables = {
        "name": name,
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
    with LockWatcher(s3, state_bucket, STATE_KEY) as lock:
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
    names = policies.Names(name, bucket, state_bucket, STATE_KEY, emulator.region)
    yield {
        "terraform": terraform,
        "variables": variables,
        "name": name,
        "outputs": terraform.outputs(),
        "ami_id": json.loads(terraform.console("var.ami_id")),  # terraform/emulator.tfvars
        "timings": timings,
        "apps": apps,
        "recording_names": names,
        "state": {
            "bucket": state_bucket,
            "key": STATE_KEY,
            "locks_seen_during_apply": lock.seen,
            "bootstrap": bootstrap,
        },
    }
    started = time.perf_counter()
    terraform.destroy(variables)
    timings["destroy_s"] = round(time.perf_counter() - started, 1)
    logger.warning("emulator stack: %s", timings)
    assert_nothing_left(terraform, emulator, name)
    delete_state_bucket(s3, state_bucket)
    if recorded_from is not None:
        check_recording(emulator.recorder.since(recorded_from), names, apps)


def recorded_calls(requests, names: policies.Names, apps: dict[str, str]) -> dict:
    """The stack's calls among ``requests`` (this process's other tests share the
    emulator), in the recording's form."""
    ours = [r for r in requests if any(f"app/{app}" in r.user_agent for app in apps.values())]
    return policies.recording(iam_calls(ours), names, apps["deployer"], apps["operator"])


def recording_mode() -> str | None:
    """IAM_RECORDING=write (make iam-policies) adds what a run records to the committed
    recording, IAM_RECORDING=replace makes it the whole recording; unset, a run checks."""
    return os.environ.get("IAM_RECORDING") or None


def unrecorded(recorded: dict) -> list[str]:
    """What ``recorded`` holds that the committed recording (the policies' source) lacks."""
    return policies.grown(json.loads(policies.RECORDING.read_text()), recorded)


def check_recording(requests, names: policies.Names, apps: dict[str, str]) -> None:
    """The calls this run made are all in the committed recording the policies come from,
    or, when recording, added to it."""
    recorded = recorded_calls(requests, names, apps)
    mode = recording_mode()
    if mode in ("write", "replace"):
        committed = json.loads(policies.RECORDING.read_text())
        policies.save(policies.merged(committed, recorded) if mode == "write" else recorded)
        logger.warning("wrote %s", policies.RECORDING)
        return
    grown = unrecorded(recorded)
    assert not grown, (
        "the stack made AWS calls its deployer/operator policies do not allow; run "
        "`make iam-policies` and review the policy change:\n" + "\n".join(grown)
    )


def assert_nothing_left(terraform: Terraform, emulator, name: str) -> None:
    """Nothing of the stack remains, in its state or as listed through boto3."""
    assert terraform.state_resources() == []
    assert_no_resource_named(emulator, name)


def assert_no_resource_named(emulator, name: str) -> None:
    """No resource of the stack called ``name`` remains, as listed through boto3."""
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
    assert not client("events", emulator).list_rules(NamePrefix=name)["Rules"]
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
    targets = client("application-autoscaling", emulator).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    assert not [t for t in targets if t["ResourceId"].startswith(f"endpoint/{name}")]
    ec2 = client("ec2", emulator)
    reservations = ec2.describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [f"{name}-training"]}]
    )["Reservations"]
    states = {i["State"]["Name"] for r in reservations for i in r["Instances"]}
    assert states <= {"terminated"}
    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert not [g for g in groups if g["GroupName"].startswith(name)]
