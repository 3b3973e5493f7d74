"""`make local-stack` and `make local-destroy` round-trip: terraform/ applied to a running
emulator with the checked-in terraform/emulator.tfvars and nothing else, then torn down with
what Terraform alone cannot delete (a registered model version, objects in the bucket)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from local_stack.emulator import client
from tests.stack import assert_no_resource_named
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.slow]


def make(target: str, emulator, workspace: Path) -> subprocess.CompletedProcess:
    """``make TARGET`` as a user runs it beside `make emulator` (this session's emulator)."""
    return subprocess.run(
        ["make", "--no-print-directory", target, f"LOCAL_STACK_DIR={workspace}"],
        cwd=REPO_ROOT,
        env={**os.environ, "LOCALSTACK_ENDPOINT": emulator.endpoint_url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def tfvars_name() -> str:
    tfvars = (REPO_ROOT / "terraform" / "emulator.tfvars").read_text()
    return re.search(r'^name = "(.+)"$', tfvars, re.MULTILINE)[1]


def test_local_stack_applies_with_the_checked_in_tfvars_and_destroys_cleanly(
    emulator, terraform_binary, tmp_path
):
    workspace = tmp_path / "local-stack"
    name = tfvars_name()
    applied = make("local-stack", emulator, workspace)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    # The banner says how to point the operator CLI at the stack.
    assert f"--terraform-dir {workspace}/terraform --prefix {name}" in applied.stderr
    assert f"AWS_ENDPOINT_URL={emulator.endpoint_url}" in applied.stderr

    # What an operator leaves behind: data in the bucket, a registered version.
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    bucket = f"{name}-123456789012"
    s3.put_object(Bucket=bucket, Key="data/train/001.Affenpinscher/1.jpg", Body=b"jpeg")
    sagemaker.create_model_package(
        ModelPackageGroupName=f"{name}-models",
        InferenceSpecification={
            "Containers": [{"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["image/jpeg"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )

    destroyed = make("local-destroy", emulator, workspace)
    assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
    assert not workspace.exists()
    assert_no_resource_named(emulator, name)
