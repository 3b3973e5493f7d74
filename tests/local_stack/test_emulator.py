"""The embedded emulator answers the AWS APIs through the client factory (localstack-client),
and an external LocalStack-compatible endpoint is reused when one answers."""

import uuid

import pytest

from local_stack.emulator import Emulator, EmulatorError, client, connect_or_start, start_moto
from tests.local_stack.conftest import direct_clients

pytestmark = pytest.mark.integration


def test_s3_put_get_round_trip(emulator: Emulator):
    s3 = client("s3", emulator)
    bucket = f"roundtrip-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/hello.txt", Body=b"hello, emulator")
    body = s3.get_object(Bucket=bucket, Key="data/hello.txt")["Body"].read()
    assert body == b"hello, emulator"


def test_sts_get_caller_identity(emulator: Emulator):
    identity = client("sts", emulator).get_caller_identity()
    assert identity["Account"].isdigit()
    assert identity["Arn"].startswith("arn:aws:")


def test_application_autoscaling_tag_calls_are_answered(emulator: Emulator):
    """moto lacks these; the AWS provider's apply hangs without the shim."""
    autoscaling = client("application-autoscaling", emulator)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/missing"
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {}
    autoscaling.tag_resource(ResourceARN=arn, Tags={"project": "dog-breeds", "team": "ml"})
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"project": "dog-breeds"}


def test_environment_points_sdks_at_the_emulator(emulator: Emulator):
    import os

    assert os.environ["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == "test"


def test_second_server_takes_a_free_port_and_stops_cleanly(emulator: Emulator):
    """With 4566 taken (by the session emulator or anything else) a new one moves aside."""
    import socket

    second = start_moto()
    try:
        assert second.endpoint_url != emulator.endpoint_url
        # Servers in one process share moto's backends; what matters is that it answers.
        assert direct_clients(second)("sts").get_caller_identity()["Account"].isdigit()
    finally:
        second.stop()
    host, port = second.endpoint_url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.bind((host, int(port)))  # the port is released after stop


def test_clients_come_from_a_localstack_session_bound_to_the_emulator(emulator: Emulator):
    from localstack_client.session import Session

    from local_stack.emulator.clients import session

    assert isinstance(session(emulator), Session)
    s3 = client("s3", emulator)
    assert s3.meta.endpoint_url == emulator.endpoint_url
    assert s3.meta.region_name == emulator.region


def test_a_client_for_another_emulator_than_aws_endpoint_url_is_refused(emulator: Emulator):
    other = Emulator(endpoint_url="http://127.0.0.1:1")
    with pytest.raises(
        EmulatorError, match=r"points at another emulator than http://127\.0\.0\.1:1"
    ):
        client("s3", other)


def test_an_answering_localstack_endpoint_is_reused(unpatched_moto: Emulator, monkeypatch):
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", unpatched_moto.endpoint_url + "/")
    reused = connect_or_start()
    assert reused.endpoint_url == unpatched_moto.endpoint_url
    assert not reused.owned


def test_a_localstack_endpoint_that_does_not_answer_is_an_error(monkeypatch):
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", "http://127.0.0.1:1")
    with pytest.raises(EmulatorError, match="does not answer like LocalStack or moto"):
        connect_or_start()
