"""model.tar.gz on the real serving stack (sagemaker-pytorch-inference + TorchServe), called
through boto3's sagemaker-runtime client exactly as the Lambda calls a real endpoint."""

import json
import logging
import os
import subprocess
import sys

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from local_stack.ports import free_ports
from local_stack.serving.endpoint import (
    MAX_REQUEST_BYTES,
    ModelServer,
    ServingError,
    ToolkitServer,
)
from tests.client_requests import OK, client_requests
from tests.images import b64, sample_image
from tests.training import run_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def runtime(local_endpoint):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=local_endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def invoke(runtime, body: bytes, content_type: str) -> dict:
    response = runtime.invoke_endpoint(
        EndpointName="dog-breeds", Body=body, ContentType=content_type, Accept="application/json"
    )
    assert response["ContentType"] == "application/json"
    return json.loads(response["Body"].read())


def test_ping_is_200(local_endpoint):
    assert requests.get(f"{local_endpoint.url}/ping", timeout=10).status_code == 200


def test_invoke_endpoint_with_a_jpeg_returns_the_right_breed(runtime, sample_dataset):
    for folder, breed in [("001.Affenpinscher", "Affenpinscher"), ("004.Akita", "Akita")]:
        body = sample_image(sample_dataset, folder).read_bytes()
        predictions = invoke(runtime, body, "image/jpeg")["predictions"]
        assert predictions[0]["breed"] == breed


def test_json_batch_through_the_stack(runtime, sample_dataset):
    images = [
        b64(sample_image(sample_dataset, f).read_bytes())
        for f in ("002.Afghan_hound", "003.Airedale_terrier")
    ]
    results = invoke(
        runtime, json.dumps({"images": images, "top_k": 1}).encode(), "application/json"
    )["results"]
    assert [r["predictions"][0]["breed"] for r in results] == ["Afghan hound", "Airedale terrier"]


def assert_json_error(text: str, code: str, message: str) -> None:
    """The error shape the Lambda uses, and nothing of the server's insides."""
    body = json.loads(text)
    assert body == {"error": {"code": code, "message": body["error"]["message"]}}
    assert body["error"]["message"].startswith(message)
    assert "Traceback" not in text
    assert "site-packages" not in text


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "message"),
    [
        (
            b"hello",
            "text/plain",
            415,
            "unsupported_media_type",
            "unsupported content type 'text/plain'",
        ),
        (
            b"garbage",
            "image/jpeg",
            415,
            "unsupported_media_type",
            "request body is not in a format this endpoint reads",
        ),
        (b"{oops", "application/json", 400, "bad_request", "request body is not valid JSON"),
        (
            b'{"s3_uri": "http://169.254.169.254/latest"}',
            "application/json",
            400,
            "bad_request",
            "s3_uri must look like s3://bucket/key",
        ),
    ],
)
def test_malformed_input_is_a_model_error_with_the_4xx_and_a_json_message(
    runtime, sample_dataset, body, content_type, status, code, message
):
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName="dog-breeds", Body=body, ContentType=content_type)
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == status
    assert_json_error(error["OriginalMessage"], code, message)
    assert "Traceback" not in error["Error"]["Message"]
    # ...and the server keeps serving.
    good = sample_image(sample_dataset, "004.Akita").read_bytes()
    assert invoke(runtime, good, "image/jpeg")["predictions"][0]["breed"] == "Akita"


def test_container_contract_answers_errors_as_json(local_endpoint):
    response = requests.post(
        f"{local_endpoint.url}/invocations",
        data=b"x",
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )
    assert response.status_code == 415
    assert response.headers["Content-Type"].startswith("application/json")
    assert_json_error(response.text, "unsupported_media_type", "unsupported content type")


def test_an_accept_other_than_json_is_a_json_406(local_endpoint, sample_dataset):
    response = requests.post(
        f"{local_endpoint.url}/invocations",
        data=sample_image(sample_dataset, "004.Akita").read_bytes(),
        headers={"Content-Type": "image/jpeg", "Accept": "text/csv"},
        timeout=30,
    )
    assert response.status_code == 406
    assert_json_error(response.text, "not_acceptable", "unsupported accept type 'text/csv'")


def test_a_body_over_the_invoke_endpoint_limit_is_a_json_413(local_endpoint, runtime):
    too_big = b"\xff\xd8\xff" + b"\0" * MAX_REQUEST_BYTES
    response = requests.post(
        f"{local_endpoint.url}/invocations",
        data=too_big,
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 413
    assert_json_error(response.text, "payload_too_large", "HTTP content length exceeded 6291456")
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName="dog-breeds", Body=too_big, ContentType="image/jpeg")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_the_access_log_names_the_reason_without_colours(local_endpoint, caplog):
    with caplog.at_level(logging.INFO, logger="local_stack.serving.endpoint"):
        requests.post(
            f"{local_endpoint.url}/invocations",
            data=b"x",
            headers={"Content-Type": "text/csv"},
            timeout=30,
        )
    lines = [r.getMessage() for r in caplog.records if "POST /invocations" in r.getMessage()]
    assert lines, caplog.text
    assert " 415: unsupported content type 'text/csv': send the image's bytes" in lines[-1]
    assert "\x1b[" not in caplog.text


def test_an_image_posted_as_a_form_is_a_json_415(local_endpoint, sample_dataset):
    """curl --data-binary without -H sends a form type, which TorchServe would decode as form
    fields (a 500 full of raw bytes)."""
    response = requests.post(
        f"{local_endpoint.url}/invocations",
        data=sample_image(sample_dataset, "004.Akita").read_bytes(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 415
    assert_json_error(
        response.text,
        "unsupported_media_type",
        "unsupported content type 'application/x-www-form-urlencoded'",
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/invocations", 405, "method_not_allowed"), ("POST", "/nowhere", 404, "not_found")],
)
def test_other_routes_answer_json_too(local_endpoint, method, path, status, code):
    response = requests.request(method, f"{local_endpoint.url}{path}", timeout=30)
    assert response.status_code == status
    assert json.loads(response.text)["error"]["code"] == code


CLIENT_CASES = client_requests(b"\xff\xd8\xff")  # the names, for the parameter ids


@pytest.mark.parametrize("index", range(len(CLIENT_CASES)), ids=[c.name for c in CLIENT_CASES])
def test_the_photo_sent_each_way_a_client_sends_it(local_endpoint, sample_dataset, index):
    """Through the serving toolkit itself, which decodes some bodies before our handler
    sees them: a UTF-16 JSON body without its charset is a 400 answer, not its traceback."""
    photo = sample_image(sample_dataset, "004.Akita").read_bytes()
    case = client_requests(photo)[index]
    answer = requests.post(
        f"{local_endpoint.url}/invocations",
        data=case.body,
        headers={"Content-Type": case.content_type} if case.content_type else {},
        timeout=60,
    )
    assert answer.status_code == case.status, answer.text
    if case.status == OK:
        assert answer.json()["predictions"][0]["breed"] == "Akita"
    else:
        assert_json_error(answer.text, case.code, "")


def test_a_form_reaching_torchserve_itself_fails_before_the_handler(local_endpoint, sample_dataset):
    """Why forms are refused in front of the container, and why the Lambda never sends one:
    TorchServe decodes a form body into fields and fails on a photo's bytes with its own 500,
    before any handler runs (README: Failure behaviour)."""
    response = requests.post(
        f"{local_endpoint.toolkit.inference_url}/invocations",
        data=sample_image(sample_dataset, "004.Akita").read_bytes(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 500
    assert response.json()["type"] == "ErrorDataDecoderException"


def test_a_file_that_is_no_model_archive_is_one_line(tmp_path):
    """make serve MODEL=<anything but a model.tar.gz>: what it is and how to build one."""
    fake = tmp_path / "model.tar.gz"
    fake.write_text("not an archive")
    result = run_module("local_stack.serving.endpoint", str(fake), "--port", "0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"error: {fake} is not a model.tar.gz (" in result.stderr
    assert "make package" in result.stderr


def test_five_ports_are_reserved_together():
    ports = free_ports(5)
    assert len(set(ports)) == 5


def test_a_server_that_stops_at_start_up_is_reported_with_its_reason(tmp_path):
    server = ToolkitServer(tmp_path / "model.tar.gz", tmp_path)
    server.log_path.parent.mkdir()
    server.log_path.write_text(
        "INFO starting\n"
        "2026-12-06T10:00:00 [ERROR] main org.pytorch.serve.ModelServer - "
        "java.net.BindException: Address already in use\n"
        "INFO shutting down\n"
    )
    assert server.first_error().endswith("java.net.BindException: Address already in use")
    # The toolkit exits 0 when TorchServe stops: the report says why, not "exited with 0".
    server.process = subprocess.Popen([sys.executable, "-c", "pass"])
    server.process.wait()
    with pytest.raises(ServingError) as stopped:
        server._wait_until_ready(timeout=5)
    assert str(stopped.value).startswith(
        "TorchServe stopped before the model was ready: 2026-12-06T10:00:00 [ERROR]"
    )
    assert "Address already in use; its log is" in str(stopped.value)
    assert "exited with 0" not in str(stopped.value)


def test_the_endpoint_runs_the_workers_and_threads_it_was_given(local_endpoint):
    """Two workers of one thread (the fixture's, the module's rule on 2 vCPUs), all loaded."""
    toolkit = local_endpoint.toolkit
    assert toolkit._environment()["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert toolkit._environment()["OMP_NUM_THREADS"] == "1"
    (model,) = requests.get(f"{toolkit.management_url}/models/model", timeout=10).json()
    assert [worker["status"] for worker in model["workers"]] == ["READY", "READY"]


def test_the_shells_own_worker_settings_do_not_reach_the_toolkit(tmp_path, monkeypatch):
    """SAGEMAKER_TS_* would make the toolkit ignore the workers; OMP_NUM_THREADS the threads."""
    monkeypatch.setenv("SAGEMAKER_TS_BATCH_SIZE", "4")
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    environment = ToolkitServer(tmp_path / "model.tar.gz", tmp_path)._environment()
    assert "SAGEMAKER_TS_BATCH_SIZE" not in environment
    assert "OMP_NUM_THREADS" not in environment  # torch's own, as ModelServer() asks
    assert environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "1"


def test_the_rule_is_one_worker_per_cpu_of_one_thread():
    assert ModelServer.for_vcpus(4) == ModelServer(workers=4, threads=1)
    assert ModelServer().environment() == {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--workers", "64", "--threads", "2"], "64 workers x 2 threads is more than this"),
        (["--workers", "0"], "--workers must be 1 or more, got 0"),
        (["--threads", "64"], "x 64 threads is more than this machine's"),
    ],
)
def test_make_serve_refuses_settings_that_do_not_fit_the_cpus(tmp_path, flags, said):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"checked after the settings")
    result = run_module("local_stack.serving.endpoint", str(archive), *flags)
    assert result.returncode == 2
    assert said in result.stderr


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: 1 x 1 uses it all")
def test_make_serve_refuses_a_setting_that_leaves_cpus_idle(tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"checked after the settings")
    flags = ["--workers", "1", "--threads", "1"]
    result = run_module("local_stack.serving.endpoint", str(archive), *flags)
    assert result.returncode == 2
    cpus = len(os.sched_getaffinity(0))
    assert f"1 workers x 1 threads leaves {cpus - 1} of this machine's {cpus} CPUs idle" in (
        result.stderr
    )
