"""Recorded calls generalized into each role's entries (iam_policies.policies.recording)."""

from __future__ import annotations

from iam_policies.calls import IamCall
from iam_policies.policies import Names, recording

NAMES = Names("dbt-1a2b3c", "dbt-1a2b3c-123456789012", "tfstate-dbt-1a2b3c", "stack", "us-east-1")
ENI = "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0abc"
ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dbt-1a2b3c"


def test_a_call_only_the_emulators_drift_makes_is_left_out_of_the_deployers():
    """A re-apply on the emulator corrects the training instance's security groups, which moto
    does not report (ModifyNetworkInterfaceAttribute on its interface); AWS reports them, so no
    apply there makes the call, and the interface, untagged, could not be scoped to the stack."""
    calls = [
        IamCall("ec2:ModifyNetworkInterfaceAttribute", ENI, "terraform", "deploy"),
        IamCall("sagemaker:UpdateEndpoint", ENDPOINT, "terraform", "deploy"),
    ]
    deployer = recording(calls, NAMES, "deploy", "operate")["deployer"]
    assert deployer == [
        [
            "sagemaker:UpdateEndpoint",
            "arn:${partition}:sagemaker:${region}:${account_id}:endpoint/${name}*",
        ]
    ]
