"""The stack's state as a team keeps it: in the S3 bucket terraform/bootstrap creates, through
the root module's S3 backend, locked by its lock file (S3 conditional writes). The applied
stack (tests/stack.py) runs this way; these tests read what it left in the emulator.

AWS rules asserted: the lock is a PutObject with If-None-Match: * that fails with 412 when the
lock file exists (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html;
moto 5.2.5 honours it, not atomically: good for one run at a time, as here); the state bucket
is versioned, encrypted, private and TLS-only
(docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html), and Terraform
never destroys it (prevent_destroy)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from local_stack.demo.terraform import TerraformError, var_flags
from local_stack.emulator import client

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.terraform]


def test_the_state_lives_in_the_bootstrapped_bucket(applied_stack, emulator):
    state = applied_stack["state"]
    s3 = client("s3", emulator)
    body = json.loads(s3.get_object(Bucket=state["bucket"], Key=state["key"])["Body"].read())
    assert body["version"] == 4
    assert len(body["resources"]) >= applied_stack["timings"]["resources"]
    workspace = applied_stack["terraform"].workdir
    assert not (workspace / "terraform.tfstate").exists()
    assert s3.get_bucket_versioning(Bucket=state["bucket"])["Status"] == "Enabled"
    versions = s3.list_object_versions(Bucket=state["bucket"], Prefix=state["key"])["Versions"]
    assert len([v for v in versions if v["Key"] == state["key"]]) >= 1


def test_the_state_bucket_is_encrypted_private_and_tls_only(applied_stack, emulator):
    bucket = applied_stack["state"]["bucket"]
    s3 = client("s3", emulator)
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    blocks = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(blocks.values())
    assert len(blocks) == 4
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_apply_held_the_lock_file_and_released_it(applied_stack, emulator):
    state = applied_stack["state"]
    seen = state["locks_seen_during_apply"]
    assert seen, "the lock file never appeared while terraform apply ran"
    assert {lock["Operation"] for lock in seen} == {"OperationTypeApply"}
    assert {lock["Path"] for lock in seen} == {f"{state['bucket']}/{state['key']}"}
    assert len({lock["ID"] for lock in seen}) == 1
    with pytest.raises(ClientError) as gone:
        client("s3", emulator).head_object(Bucket=state["bucket"], Key=f"{state['key']}.tflock")
    assert gone.value.response["Error"]["Code"] == "404"


def test_a_held_lock_stops_another_run_and_names_its_holder(applied_stack, emulator):
    state = applied_stack["state"]
    s3 = client("s3", emulator)
    lock_key = f"{state['key']}.tflock"
    holder = {
        "ID": str(uuid.uuid4()),
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "deployer@ci-runner",
        "Version": "1.10.0",
        "Created": datetime.now(UTC).isoformat(),
        "Path": f"{state['bucket']}/{state['key']}",
    }
    s3.put_object(Bucket=state["bucket"], Key=lock_key, Body=json.dumps(holder).encode())
    try:
        # What the S3 backend's lock request meets: the emulator refuses the second writer.
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=state["bucket"], Key=lock_key, Body=b"{}", IfNoneMatch="*")
        assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
        with pytest.raises(TerraformError) as stopped:
            applied_stack["terraform"].run(
                "plan",
                "-input=false",
                "-no-color",
                "-lock-timeout=0s",
                *var_flags(applied_stack["variables"]),
            )
        message = str(stopped.value)
        assert "Error acquiring the state lock" in message
        assert holder["ID"] in message
        assert "deployer@ci-runner" in message
    finally:
        s3.delete_object(Bucket=state["bucket"], Key=lock_key)


def test_terraform_refuses_to_destroy_the_state_bucket(applied_stack):
    bootstrap = applied_stack["state"]["bootstrap"]
    with pytest.raises(TerraformError) as refused:
        bootstrap.run(
            "plan",
            "-destroy",
            "-input=false",
            "-no-color",
            *var_flags({"bucket_name": applied_stack["state"]["bucket"]}),
        )
    assert "Instance cannot be destroyed" in str(refused.value)
    assert "prevent_destroy" in str(refused.value)
