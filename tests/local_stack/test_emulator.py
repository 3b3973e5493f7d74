"""The embedded emulator answers the AWS APIs through the client factory (localstack-client),
and an external LocalStack-compatible endpoint is reused when one answers."""

import socket
import subprocess
import sys
import uuid

import pytest

from local_stack.emulator import Emulator, EmulatorError, client, connect_or_start, start_moto
from local_stack.ports import port_is_free
from tests.local_stack.conftest import direct_clients
from tests.training import REPO_ROOT, python_env

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
    second = start_moto()
    try:
        assert second.endpoint_url != emulator.endpoint_url
        # Servers in one process share moto's backends; what matters is that it answers.
        assert direct_clients(second)("sts").get_caller_identity()["Account"].isdigit()
    finally:
        second.stop()
    host, port = second.endpoint_url.removeprefix("http://").split(":")
    assert port_is_free(host, int(port))  # released after stop: a server may listen there again


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


def test_a_taken_port_fails_at_once_naming_the_make_variable():
    """make emulator on a port something holds: one line and exit 2, not a hang."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "local_stack.emulator", "--port", str(port)],
            cwd=REPO_ROOT,
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is taken: stop what listens there, or choose another "
        "port (make emulator EMULATOR_PORT=4567; make demo EMULATOR_PORT=0 for any free one)"
    ]


def test_port_0_takes_any_free_port(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the session's emulator's
    started = start_moto(port=0)
    try:
        assert started.host_port != "127.0.0.1:0"
        assert client("sts", started).get_caller_identity()["Account"]
    finally:
        started.stop()


def test_an_emulator_that_is_reused_is_named_in_the_log(emulator: Emulator, monkeypatch, caplog):
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", emulator.endpoint_url)
    reused = connect_or_start()
    assert reused.endpoint_url == emulator.endpoint_url
    assert not reused.owned
    assert f"reusing the AWS emulator already answering at {emulator.endpoint_url}" in caplog.text
