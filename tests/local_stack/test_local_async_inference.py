"""Asynchronous inference on the emulator (API_runtime_InvokeEndpointAsync; developer guide,
"Asynchronous inference", "Check prediction results", "Monitor asynchronous endpoint"): the
request is answered 202 with where its answer will land; local mode reads the input from S3,
the model answers, the answer lands at ``<S3OutputPath>/<id>.out`` (a failure at
``<S3FailurePath>/<id>-error.out``), the success or error topic is told (a subscribed queue
receives SageMaker's ``InferenceResult`` message), and the backlog metrics are published.

The endpoint is deployed with plain boto3, as any client would.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from local_stack.emulator import client
from local_stack.emulator.async_inference import request_of
from local_stack.emulator.model_servers import InvokeEndpointError
from local_stack.emulator.probes import LAMBDA_TRUST_POLICY
from tests.async_endpoints import asynchronous_endpoint, function_settings, realtime_twin
from tests.images import sample_image
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def queue_for(emulator, *topics: str) -> str:
    """An SQS queue subscribed to ``topics``; its URL."""
    sqs, sns = client("sqs", emulator), client("sns", emulator)
    url = sqs.create_queue(QueueName=f"async-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    for topic in topics:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    return url


def notifications(emulator, queue_url: str, count: int, timeout: float = 30) -> list[dict]:
    sqs, found = client("sqs", emulator), []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            found.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def object_at(emulator, location: str, timeout: float = 240) -> bytes:
    """The object at ``location`` once it exists (the model loads on the first request)."""
    bucket, key = location.removeprefix("s3://").split("/", 1)
    s3, deadline = client("s3", emulator), time.monotonic() + timeout
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchKey" or time.monotonic() > deadline:
                raise
        time.sleep(0.5)


@pytest.fixture(scope="module")
def async_endpoint(emulator, model_archive) -> SimpleNamespace:
    """The trained model on an asynchronous endpoint and on a real-time one, with topics
    (created before any test turns local mode on: the models load on their first request)."""
    sns = client("sns", emulator)
    tag = uuid.uuid4().hex[:8]
    topics = {
        kind: sns.create_topic(Name=f"async-{tag}-{kind}")["TopicArn"] for kind in ("ok", "error")
    }
    name = asynchronous_endpoint(
        emulator,
        "async",
        model_archive,
        ClientConfig={"MaxConcurrentInvocationsPerInstance": 2},
        NotificationConfig={"SuccessTopic": topics["ok"], "ErrorTopic": topics["error"]},
    )
    return SimpleNamespace(
        name=name, bucket=name, topics=topics, realtime=realtime_twin(emulator, name)
    )


def submit(emulator, endpoint: str, bucket: str, body: bytes, content_type: str) -> dict:
    key = f"async/in/{uuid.uuid4().hex}"
    client("s3", emulator).put_object(Bucket=bucket, Key=key, Body=body)
    return client("sagemaker-runtime", emulator).invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{bucket}/{key}", ContentType=content_type
    )


def test_a_request_is_answered_into_s3_and_its_topic_is_told(
    emulator, local_mode, async_endpoint, sample_dataset
):
    endpoint = async_endpoint.name
    queue = queue_for(emulator, *async_endpoint.topics.values())
    jpeg = sample_image(sample_dataset, "004.Akita").read_bytes()
    request = json.dumps({"image": base64.b64encode(jpeg).decode(), "top_k": 3}).encode()

    good = submit(emulator, endpoint, async_endpoint.bucket, request, "application/json")
    bad = submit(emulator, endpoint, async_endpoint.bucket, b"not a photo", "application/x-image")

    assert good["ResponseMetadata"]["HTTPStatusCode"] == 202
    bucket_url = f"s3://{async_endpoint.bucket}"
    assert good["OutputLocation"] == f"{bucket_url}/async/out/{good['InferenceId']}.out"
    assert bad["FailureLocation"] == f"{bucket_url}/async/failed/{bad['InferenceId']}-error.out"
    answer = json.loads(object_at(emulator, good["OutputLocation"]))
    assert [p["breed"] for p in answer["predictions"]][:1] == ["Akita"]
    assert len(answer["predictions"]) == 3
    refusal = object_at(emulator, bad["FailureLocation"]).decode()
    assert "unsupported_media_type" in refusal

    messages = {m["inferenceId"]: m for m in notifications(emulator, queue, 2)}
    success, failure = messages[good["InferenceId"]], messages[bad["InferenceId"]]
    assert (success["eventSource"], success["eventName"]) == ("aws:sagemaker", "InferenceResult")
    assert success["invocationStatus"] == "Completed"
    assert success["responseParameters"]["outputLocation"] == good["OutputLocation"]
    assert success["requestParameters"]["endpointName"] == endpoint
    assert failure["invocationStatus"] == "Failed"
    assert failure["failureReason"].startswith("ClientError: Received client error (415)")
    assert failure["responseParameters"]["failureLocation"] == bad["FailureLocation"]


def invoker(emulator, endpoint: SimpleNamespace, tmp_path) -> str:
    """The function (built as `make package-lambda` builds it) in front of the endpoint."""
    package = tmp_path / "lambda.zip"
    subprocess.run(
        [sys.executable, "scripts/build_lambda_zip.py", "lambda", str(package)],
        cwd=REPO_ROOT,
        check=True,
    )
    role = client("iam", emulator).create_role(
        RoleName=f"{endpoint.name}-invoker",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY),
    )
    name = f"{endpoint.name}-invoker"
    client("lambda", emulator).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": package.read_bytes()},
        Timeout=29,
        Environment={"Variables": function_settings(endpoint.name)},
    )
    return name


def call(emulator, function: str, event: dict) -> tuple[int, dict]:
    answer = client("lambda", emulator).invoke(FunctionName=function, Payload=json.dumps(event))
    result = json.loads(answer["Payload"].read())
    return result["statusCode"], json.loads(result["body"])


def settled(emulator, function: str, inference_id: str, timeout: float = 240) -> dict:
    """The status route's answer once it is no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        code, found = call(emulator, function, {"inference_id": inference_id})
        assert code == 200, found
        if found["status"] != "pending" or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_the_lambdas_status_route_gives_the_answer_or_the_reason(
    emulator, local_mode, async_endpoint, sample_dataset, tmp_path
):
    """Through the function as the page uses it: 202 with an id, then done with the same
    top-k as a real-time call of the model; a photo the model refuses, queued beside it, ends
    failed with the model's reason."""
    function = invoker(emulator, async_endpoint, tmp_path)
    jpeg = sample_image(sample_dataset, "001.Affenpinscher").read_bytes()
    image = base64.b64encode(jpeg).decode()
    code, accepted = call(emulator, function, {"image": image, "top_k": 3})
    assert code == 202
    assert accepted["status"] == "pending"
    refused_id = uuid.uuid4().hex
    client("s3", emulator).put_object(
        Bucket=async_endpoint.bucket, Key=f"async/in/{refused_id}.json", Body=b"not a photo"
    )
    client("sagemaker-runtime", emulator).invoke_endpoint_async(
        EndpointName=async_endpoint.name,
        InputLocation=f"s3://{async_endpoint.bucket}/async/in/{refused_id}.json",
        ContentType="application/x-image",
        InferenceId=refused_id,
    )

    done = settled(emulator, function, accepted["inference_id"])
    assert done["status"] == "done", done
    realtime = client("sagemaker-runtime", emulator).invoke_endpoint(
        EndpointName=async_endpoint.realtime,
        Body=json.dumps({"image": image, "top_k": 3}),
        ContentType="application/json",
    )
    assert done["predictions"] == json.loads(realtime["Body"].read())["predictions"]
    failed = settled(emulator, function, refused_id)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "unsupported_media_type"


def test_the_backlog_and_outcomes_are_published_as_sagemaker_does(
    emulator, local_mode, async_endpoint
):
    """Metrics of "Monitor asynchronous endpoint": the backlog by EndpointName, the outcomes by
    EndpointName and VariantName."""
    endpoint = async_endpoint.name
    ids = [
        submit(emulator, endpoint, async_endpoint.bucket, b"nope", "application/x-image")
        for _ in range(3)
    ]
    for sent in ids:
        object_at(emulator, sent["FailureLocation"])
    cloudwatch = client("cloudwatch", emulator)

    def statistic(metric: str, statistic: str, **dimensions) -> float:
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName=metric,
            Dimensions=[
                {"Name": k, "Value": v} for k, v in {"EndpointName": endpoint, **dimensions}.items()
            ],
            StartTime=time.time() - 600,
            EndTime=time.time() + 60,
            Period=60,
            Statistics=[statistic],
        )
        assert answer["Datapoints"], f"no {metric} datapoint was published"
        return max(p[statistic] for p in answer["Datapoints"])

    assert statistic("ApproximateBacklogSize", "Maximum") >= 1
    assert statistic("ApproximateBacklogSizePerInstance", "Maximum") >= 1
    assert statistic("HasBacklogWithoutCapacity", "Maximum") == 0  # one instance, always
    assert statistic("InvocationFailures", "Sum", VariantName="AllTraffic") >= 3


def test_what_sagemaker_refuses_is_refused(emulator, local_mode, async_endpoint):
    runtime = client("sagemaker-runtime", emulator)
    location = f"s3://{async_endpoint.bucket}/async/in/none"
    with pytest.raises(ClientError) as unknown:
        runtime.invoke_endpoint_async(EndpointName="no-such-endpoint", InputLocation=location)
    assert unknown.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as realtime:
        runtime.invoke_endpoint_async(EndpointName=async_endpoint.realtime, InputLocation=location)
    assert (
        "not configured for asynchronous inference" in realtime.value.response["Error"]["Message"]
    )
    with pytest.raises(ClientError) as synchronous:
        runtime.invoke_endpoint(
            EndpointName=async_endpoint.name, Body=b"{}", ContentType="application/json"
        )
    assert "InvokeEndpointAsync" in synchronous.value.response["Error"]["Message"]


class Backend(SimpleNamespace):
    """moto's SageMaker backend as request_of reads it: one asynchronous endpoint, "queued"."""


BACKEND = Backend(
    endpoints={"queued": SimpleNamespace(endpoint_config_name="queued")},
    endpoint_configs={
        "queued": SimpleNamespace(
            async_inference_config={"OutputConfig": {"S3OutputPath": "s3://b/out"}}
        )
    },
)
HEADER_NAMES = st.sampled_from(
    [
        "X-Amzn-SageMaker-InputLocation",
        "X-Amzn-SageMaker-Inference-Id",
        "X-Amzn-SageMaker-RequestTTLSeconds",
        "X-Amzn-SageMaker-InvocationTimeoutSeconds",
        "X-Amzn-SageMaker-Content-Type",
    ]
)


@given(headers=st.dictionaries(HEADER_NAMES, st.text(max_size=80)))
def test_any_headers_make_a_request_or_a_validation_error(headers):
    try:
        request = request_of(BACKEND, "queued", headers, "123456789012")
    except InvokeEndpointError as error:
        refusal = (error.status, error.code)
    else:
        refusal = None
        assert request.output_location == f"s3://b/out/{request.inference_id}.out"
        assert 60 <= request.ttl_s <= 21600
        assert 1 <= request.timeout_s <= 3600
    assert refusal in (None, (400, "ValidationError"))
