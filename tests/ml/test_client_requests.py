"""The endpoint's handlers with a photo sent every way ordinary clients send it
(tests/client_requests.py, the cases the Lambda is tested with too): each accepted way
classifies it as the plain request does, each refused one gets the documented 4xx as JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml import inference
from tests.client_requests import OK, base64_shapes, client_requests
from tests.images import sample_image
from tests.toolkit import serve

pytestmark = pytest.mark.integration

AKITA = "004.Akita"


@pytest.fixture(scope="module")
def loaded(trained_model) -> inference.LoadedModel:
    return inference.model_fn(str(trained_model.model_dir))


@pytest.fixture(scope="module")
def photo(sample_dataset) -> bytes:
    return sample_image(sample_dataset, AKITA).read_bytes()


@pytest.fixture(scope="module")
def plain_answer(loaded, photo) -> dict:
    statuses, answer = serve(loaded, photo, "image/jpeg")
    assert statuses == []
    return answer


CASES = client_requests(b"\xff\xd8\xff")  # the names, for the parameter ids


@pytest.mark.parametrize("case_index", range(len(CASES)), ids=[case.name for case in CASES])
def test_each_way_a_client_sends_the_photo(loaded, photo, plain_answer, case_index):
    case = client_requests(photo)[case_index]
    statuses, answer = serve(loaded, case.body, case.content_type)
    if case.status == OK:
        assert statuses == [], answer
        assert answer["predictions"][0] == plain_answer["predictions"][0]
    else:
        assert [status for status, _ in statuses] == [case.status]
        assert answer["error"]["code"] == case.code
        assert len(answer["error"]["message"]) > 10


JSON_TYPES = st.sampled_from(
    [
        ("application/json", "utf-8"),
        ("Application/JSON", "utf-8"),
        ("application/json; charset=utf-8", "utf-8"),
        ('application/json; charset="UTF-8"', "utf-8"),
        ("text/json", "utf-8"),
        ("application/json; charset=utf-16", "utf-16"),
        ("application/json; charset=utf-32-le", "utf-32-le"),
        ("application/json; charset=latin-1", "latin-1"),
        ("application/json", "utf-16"),  # undeclared: refused
        ("application/json", "utf-32"),  # undeclared: refused
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_any_json_shape_either_classifies_alike_or_is_a_documented_refusal(
    loaded, photo, plain_answer, data
):
    (content_type, encoding), image = data.draw(JSON_TYPES), data.draw(base64_shapes(photo))
    body = json.dumps({"image": image, "top_k": 3}).encode(encoding)
    statuses, answer = serve(loaded, body, content_type)
    declared = "charset" in content_type
    if encoding in ("utf-8", "latin-1") or declared:  # ASCII JSON, or its charset said
        assert statuses == [], answer
        assert answer["predictions"][0] == plain_answer["predictions"][0]
    else:
        assert statuses == [(400, "Bad Request")]
        assert answer["error"]["code"] == "bad_request"
        assert "declare its charset" in answer["error"]["message"]


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    content_type=st.one_of(
        st.sampled_from(["image/jpeg", "image/*", "application/octet-stream", "text/plain", ""]),
        st.text(max_size=40),
        st.builds(
            lambda kind, charset: f"{kind}; charset={charset}",
            st.sampled_from(["application/json", "image/jpeg", "text/plain"]),
            st.text(max_size=12),
        ),
    ),
    body=st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode)),
)
def test_any_content_type_and_body_get_json_and_a_4xx_or_an_answer(loaded, content_type, body):
    statuses, answer = serve(loaded, body, content_type)
    assert all(400 <= status < 500 for status, _ in statuses), answer
    assert ("error" in answer) == bool(statuses)
