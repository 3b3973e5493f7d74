"""``verify``: the endpoint serves what was applied, or the command fails with the reason;
and ``status --desired-instance-count``, what ``make deploy`` starts a new fleet with.

The emulator's endpoints are InService at once; the states a real one passes through
(Updating, Failed) are set on moto's own endpoint object, in this process.
"""

from __future__ import annotations

import logging

import pytest
from moto.sagemaker.models import sagemaker_backends

from local_stack.emulator import client
from mlops import DeploymentError
from mlops.aws import Aws
from mlops.verify import Expected, verify
from tests.mlops.conftest import JobsStack

pytestmark = pytest.mark.integration


def moto_endpoint(emulator, name: str):
    return sagemaker_backends["123456789012"][emulator.region].endpoints[name]


def expected_of(stack: JobsStack, **overrides) -> Expected:
    name = f"{stack.prefix}-endpoint"
    values = {
        "endpoint": name,
        "config": f"{name}-config-1",
        "model": f"s3://{stack.bucket}/models/run-1/model.tar.gz",
    }
    return Expected(**(values | overrides))


def test_an_endpoint_serving_what_was_applied_passes(serving_stack, caplog):
    with caplog.at_level(logging.INFO, logger="mlops"):
        summary = serving_stack.run("verify")
    name = f"{serving_stack.prefix}-endpoint"
    assert summary == (
        f"endpoint {name} is InService on {name}-config-1, serving "
        f"s3://{serving_stack.bucket}/models/run-1/model.tar.gz on 1 instance(s)"
    )
    assert summary in caplog.text


def test_verify_waits_while_the_endpoint_updates(serving_stack, emulator):
    endpoint = moto_endpoint(emulator, f"{serving_stack.prefix}-endpoint")
    endpoint.endpoint_status = "Updating"
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        endpoint.endpoint_status = "InService"

    aws = Aws(lambda: emulator.region)
    summary = verify(aws, expected_of(serving_stack), timeout_s=60, poll_s=5, sleep=sleep)
    assert waits == [5]
    assert "is InService" in summary


def test_an_endpoint_still_updating_at_the_deadline_is_reported(serving_stack, emulator):
    moto_endpoint(emulator, f"{serving_stack.prefix}-endpoint").endpoint_status = "Updating"
    aws = Aws(lambda: emulator.region)
    with pytest.raises(DeploymentError, match=r"is still Updating after 10 s: run verify again"):
        verify(aws, expected_of(serving_stack), timeout_s=10, poll_s=5, sleep=lambda _: None)


def test_a_failed_endpoint_exits_1_with_sagemakers_reason(serving_stack, emulator, caplog):
    endpoint = moto_endpoint(emulator, f"{serving_stack.prefix}-endpoint")
    endpoint.endpoint_status = "Failed"
    endpoint.failure_reason = (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check."
    )
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        serving_stack.run("verify", "--poll-seconds", "1", "--wait-timeout", "1")
    assert exit_info.value.code == 1
    assert caplog.messages == [
        f"endpoint {serving_stack.prefix}-endpoint is Failed: SageMaker says: The primary "
        "container for production variant AllTraffic did not pass the ping health check."
    ]


def test_another_configuration_is_a_rollback(serving_stack, caplog):
    name = f"{serving_stack.prefix}-endpoint"
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        serving_stack.run("verify", "--expect-config", f"{name}-config-2")
    assert exit_info.value.code == 1
    (message,) = caplog.messages
    assert message.startswith(
        f"endpoint {name} is InService on {name}-config-1, not {name}-config-2 as applied: the "
        "deployment was rolled back (no failure reason given)"
    )


def test_another_model_is_reported(serving_stack, emulator):
    other = f"s3://{serving_stack.bucket}/models/run-2/model.tar.gz"
    aws = Aws(lambda: emulator.region)
    with pytest.raises(DeploymentError, match=r"serves s3://.*/run-1/model.tar.gz, not s3://"):
        verify(aws, expected_of(serving_stack, model=other), timeout_s=5, poll_s=1)


def test_a_missing_endpoint_is_one_line(jobs_stack, caplog):
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        jobs_stack.run(
            "verify",
            "--endpoint-name",
            "nowhere",
            "--expect-config",
            "c",
            "--expect-model",
            "m",
        )
    assert exit_info.value.code == 2
    assert caplog.messages == ["endpoint nowhere does not exist"]


def test_desired_instance_count_is_what_auto_scaling_chose(serving_stack, emulator, capsys):
    name = f"{serving_stack.prefix}-endpoint"
    client("sagemaker", emulator).update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
    )
    assert serving_stack.run("status", "--desired-instance-count") == "2"
    assert capsys.readouterr().out == "2\n"


def test_without_an_endpoint_there_is_no_count_to_keep(jobs_stack, capsys):
    assert jobs_stack.run("status", "--desired-instance-count") == ""
    assert capsys.readouterr().out == "\n"
