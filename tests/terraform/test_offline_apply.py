"""Terraform inits offline from the provider mirror and applies against the emulator."""

import shutil
import uuid
from pathlib import Path

import pytest

from local_stack.aws import client
from local_stack.emulator import Emulator
from local_stack.terraform import Terraform

pytestmark = [pytest.mark.terraform, pytest.mark.integration]

FIXTURE = Path(__file__).parent / "fixtures" / "s3_bucket"


def test_s3_bucket_inits_validates_applies_and_destroys(
    tmp_path: Path, emulator: Emulator, terraform_binary: str
):
    workdir = tmp_path / "s3_bucket"
    shutil.copytree(FIXTURE, workdir)
    terraform = Terraform(workdir)
    terraform.use_emulator(emulator)
    bucket = f"tf-offline-{uuid.uuid4().hex[:12]}"

    terraform.init()
    terraform.validate()
    terraform.apply({"bucket_name": bucket})
    try:
        assert terraform.outputs()["bucket_name"] == bucket
        names = [b["Name"] for b in client("s3", emulator).list_buckets()["Buckets"]]
        assert bucket in names
    finally:
        terraform.destroy({"bucket_name": bucket})
    names = [b["Name"] for b in client("s3", emulator).list_buckets()["Buckets"]]
    assert bucket not in names
    assert terraform.state_resources() == []
