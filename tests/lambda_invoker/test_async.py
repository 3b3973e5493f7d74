"""The function in front of an asynchronous endpoint: a request is queued through S3 and
answered 202 with its id; ``GET /classify/{id}`` (or ``{"inference_id": ...}``) says pending,
done with the predictions, or failed with the reason, from the objects SageMaker writes
(``<output>/<id>.out``, ``<failure>/<id>-error.out``). The endpoint is the emulator's with local
mode off: the request stays queued, and the test writes what SageMaker would write."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoker.asynchronous import checked_inference_id, failed, inference_id_of
from invoker.errors import ApiError
from local_stack.emulator import client
from tests.async_endpoints import asynchronous_endpoint, function_settings
from tests.images import TINY_JPEG

pytestmark = pytest.mark.integration

PREDICTIONS = [
    {"breed": "Akita", "index": 3, "probability": 0.91},
    {"breed": "Basenji", "index": 13, "probability": 0.05},
]


@pytest.fixture
def async_handler(emulator, load_handler):
    """The handler configured for an asynchronous endpoint of the emulator's, with its bucket."""
    name = asynchronous_endpoint(emulator, "async")
    return load_handler(**function_settings(name)), name


def status(handler, context, inference_id: str) -> tuple[int, dict]:
    event = {
        "version": "2.0",
        "requestContext": {"http": {"method": "GET"}},
        "rawPath": f"/classify/{inference_id}",
        "pathParameters": {"id": inference_id},
    }
    result = handler.lambda_handler(event, context)
    return result["statusCode"], json.loads(result["body"])


def test_a_request_is_queued_and_its_status_follows_what_sagemaker_writes(
    emulator, async_handler, context
):
    handler, bucket = async_handler
    s3 = client("s3", emulator)
    image = base64.b64encode(TINY_JPEG).decode()
    queued = handler.lambda_handler({"image": image, "top_k": 2}, context)
    assert queued["statusCode"] == 202
    accepted = json.loads(queued["body"])
    inference_id = accepted["inference_id"]
    assert accepted["status"] == "pending"
    assert accepted["status_path"] == f"/classify/{inference_id}"
    assert queued["headers"]["Location"] == accepted["status_path"]
    # What the endpoint reads: the JSON its input_fn takes, under the input prefix.
    sent = json.loads(
        s3.get_object(Bucket=bucket, Key=f"async/in/{inference_id}.json")["Body"].read()
    )
    assert sent == {"image": image, "top_k": 2}

    assert status(handler, context, inference_id) == (
        200,
        {"inference_id": inference_id, "status": "pending"},
    )
    answer = {"predictions": PREDICTIONS, "precision": "int8"}
    s3.put_object(Bucket=bucket, Key=f"async/out/{inference_id}.out", Body=json.dumps(answer))
    code, done = status(handler, context, inference_id)
    assert code == 200
    assert (done["status"], done["predictions"], done["precision"]) == ("done", PREDICTIONS, "int8")
    assert done["endpoint"] == bucket


def test_a_failed_request_says_the_models_reason(emulator, async_handler, context):
    handler, bucket = async_handler
    queued = handler.lambda_handler({"image": base64.b64encode(TINY_JPEG).decode()}, context)
    inference_id = json.loads(queued["body"])["inference_id"]
    refusal = {"error": {"code": "unsupported_media_type", "message": "not a photo"}}
    client("s3", emulator).put_object(
        Bucket=bucket, Key=f"async/failed/{inference_id}-error.out", Body=json.dumps(refusal)
    )
    code, found = status(handler, context, inference_id)
    assert code == 200
    assert found["status"] == "failed"
    assert found["error"] == {"code": "unsupported_media_type", "message": "not a photo"}


def test_an_unknown_or_malformed_id_is_the_callers_error(async_handler, context):
    handler, _ = async_handler
    assert status(handler, context, uuid.uuid4().hex)[0] == 404
    code, body = status(handler, context, "../../models/run-1/model.tar")
    assert code == 400
    assert "inference_id" in body["error"]["message"]
    direct = handler.lambda_handler({"inference_id": 7}, context)
    assert direct["statusCode"] == 400


@given(
    value=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=30, max_size=34),
        st.integers(),
        st.none(),
        st.lists(st.text()),
    )
)
def test_any_inference_id_is_an_id_or_a_400(value):
    try:
        found = checked_inference_id(value)
    except ApiError as error:
        status = error.status
    else:
        status = 200
        assert len(found) == 32
    assert status in (200, 400)


@given(
    event=st.fixed_dictionaries(
        {},
        optional={
            "requestContext": st.one_of(
                st.none(),
                st.text(),
                st.fixed_dictionaries(
                    {"http": st.one_of(st.none(), st.dictionaries(st.text(), st.text()))}
                ),
            ),
            "httpMethod": st.one_of(st.none(), st.text(), st.integers()),
            "pathParameters": st.one_of(
                st.none(), st.dictionaries(st.sampled_from(["id", "x"]), st.text())
            ),
            "rawPath": st.one_of(st.none(), st.text()),
            "inference_id": st.text(),
        },
    )
)
def test_any_event_is_a_status_request_a_classify_request_or_a_4xx(event):
    try:
        found = inference_id_of(event)
    except ApiError as error:
        status = error.status
    else:
        status = 200
        assert found is None or len(found) == 32
    assert status in (200, 400, 404)


@given(body=st.binary(max_size=300))
def test_any_failure_body_gives_a_reason(body):
    found = failed("0" * 32, body)
    assert found["status"] == "failed"
    assert isinstance(found["error"]["message"], str)


def test_an_endpoint_that_answers_elsewhere_is_a_502_not_an_endless_wait(
    emulator, load_handler, context
):
    """SageMaker says where it will write (OutputLocation): a function reading elsewhere
    would answer "pending" for ever, so it refuses at once."""
    name = asynchronous_endpoint(emulator, "async")
    handler = load_handler(**{**function_settings(name), "ASYNC_OUTPUT_PREFIX": "async/other/"})
    result = handler.lambda_handler({"image": base64.b64encode(TINY_JPEG).decode()}, context)
    assert result["statusCode"] == 502
    assert json.loads(result["body"])["error"]["code"] == "endpoint_error"
