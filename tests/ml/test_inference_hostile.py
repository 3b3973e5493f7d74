"""The endpoint's handlers against hostile requests: every one is a 4xx naming the problem,
never another exception, and memory is bounded by the request, not by what its images claim.

Property-based (hypothesis) for the request parser and the Accept header; explicit cases for
the memory bound, asserted on the error and on what was decoded, never on timing.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ml import inference, payloads
from tests.images import TINY_JPEG, TINY_PNG

pytestmark = pytest.mark.unit

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def refused(call) -> inference.RequestError:
    with pytest.raises(inference.RequestError) as raised:
        call()
    return raised.value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims a size (no pixel data follows)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + ihdr + b"\x00" * 4


@pytest.fixture
def forbid_decoding(monkeypatch):
    """Call it, and the test fails if any image's pixels are decoded from then on."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"decoded a {self.size} image")

    return lambda: monkeypatch.setattr(Image.Image, "load", refuse)


def outcome(call) -> tuple[object, inference.RequestError | None]:
    """What ``call`` returned, or the RequestError it raised; any other exception escapes."""
    try:
        return call(), None
    except inference.RequestError as error:
        return None, error


def compressible_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_an_extreme_aspect_ratio_is_refused_before_decoding(forbid_decoding):
    png = compressible_png(16, 1_048_576)  # 16.7 megapixels, under the pixel limit
    assert len(png) < 100_000
    forbid_decoding()
    error = refused(lambda: inference.input_fn(png, "image/png"))
    assert error.status_code == 400
    assert "16x1048576 pixels; sides more than 10 times apart are refused" in error.message


def test_a_batch_of_compressible_images_is_refused_before_decoding(forbid_decoding):
    png = compressible_png(4096, 4096)  # at the per-image limit, a few kB
    body = json.dumps({"images": [b64(png)] * 32})
    assert len(body) < 2_000_000
    forbid_decoding()
    error = refused(lambda: inference.input_fn(body, "application/json"))
    assert error.status_code == 413
    assert f"the images hold {32 * 4096 * 4096} pixels together" in error.message


def test_images_are_decoded_one_at_a_time(monkeypatch):
    """predict decodes an image only after the previous one is a small tensor."""
    decoded, alive = [], []

    def transform(image):
        alive.append(image.size)
        return torch.zeros(3, 8, 8)

    original = inference.decode_rgb

    def decode(image, shorter_side=None):
        decoded.append(len(alive))  # how many were transformed before this decode
        return original(image, shorter_side)

    monkeypatch.setattr(inference, "decode_rgb", decode)
    request = inference.input_fn(
        json.dumps({"images": [b64(TINY_JPEG), b64(TINY_PNG), b64(TINY_JPEG)]}),
        "application/json",
    )
    assert [image.width for image in request.images] == [8, 8, 8]
    loaded = inference.LoadedModel(
        lambda batch: torch.zeros(len(batch), 2), ["a", "b"], transform, torch.device("cpu")
    )
    inference.predict(request, loaded)
    assert decoded == [0, 1, 2]


def test_s3_input_is_a_clear_400_under_network_isolation(monkeypatch):
    monkeypatch.setenv("S3_INPUT_ENABLED", "false")
    error = refused(lambda: inference.input_fn(b'{"s3_uri": "s3://b/k.jpg"}', "application/json"))
    assert error.status_code == 400
    assert "s3_uri input is off on this endpoint (it runs with network isolation)" in error.message


def test_s3_reads_make_one_attempt_inside_the_invocation_limit():
    try:
        config = payloads._s3_client().meta.config
    finally:  # built under this test's environment: not for the next test's
        payloads._s3_client.cache_clear()
    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout + config.read_timeout < 60 / 4


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (None, True),
        ("", True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("*/*", True),
        ("application/*", True),
        ("text/html, application/json;q=0.5", True),
        ("text/csv;q=1, */*;q=0.1", True),
        ("application/json;q=0", False),
        ("*/*;q=0.8, application/json;q=0", False),
        ("text/csv", False),
        ("image/*", False),
    ],
)
def test_accept_is_parsed_as_http_does(accept, wanted):
    assert (inference.json_quality(accept) > 0) is wanted


@pytest.mark.parametrize(
    "accept", ["application/json;q=2", "application/json;q=0.1234", "json", "application/json;q=x"]
)
def test_a_malformed_accept_header_is_a_400(accept):
    assert refused(lambda: inference.check_accept(accept)).status_code == 400


@SETTINGS
@given(
    accept=st.text(max_size=80)
    | st.lists(
        st.sampled_from(
            ["application/json", "*/*", "text/*", ";q=0", ";q=0.5", ";q=1.0001", ",", " ", ";", "="]
        ),
        max_size=8,
    ).map("".join)
)
def test_any_accept_header_gives_json_a_406_or_a_400(accept):
    _, error = outcome(lambda: inference.check_accept(accept))
    assert error is None or error.status_code in (400, 406)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)
hostile_json = st.one_of(
    st.integers(1_100, 30_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1_100, 10_000).map(lambda depth: '{"image": ' + "[" * depth + "]" * depth + "}"),
    st.integers(4_301, 20_000).map(lambda digits: '{"images": [], "top_k": ' + "7" * digits + "}"),
    st.sampled_from(["\uff13", "\u00b2", "\u0663", "1" * 5000]).map(
        lambda top_k: json.dumps({"image": b64(TINY_JPEG), "top_k": top_k})
    ),
    st.builds(
        lambda payload: json.dumps(payload),
        st.dictionaries(
            st.sampled_from(["image", "images", "s3_uri", "top_k", "include_logits"]),
            json_values,
            max_size=3,
        ),
    ),
    st.text(max_size=50),
)
hostile_images = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=200).map(lambda data: b"\xff\xd8\xff" + data),
    st.binary(max_size=200).map(lambda data: b"\x89PNG\r\n\x1a\n" + data),
    st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)).map(
        lambda size: png_claiming(*size)
    ),
    st.just(TINY_JPEG[: len(TINY_JPEG) // 2]),
)


@SETTINGS
@given(
    body=st.one_of(hostile_json.map(str.encode), hostile_images),
    content_type=st.sampled_from(
        [
            "application/json",
            "image/jpeg",
            "image/png",
            "application/x-image",
            "text/plain",
            "",
            "application/json; charset=utf-8",
        ]
    ),
)
def test_any_request_is_answered_or_refused_with_a_4xx(body, content_type, monkeypatch):
    """Whatever the bytes, input_fn either accepts them or names a 4xx; s3_uri reads are
    never attempted (S3 input off), and accepted images either classify or are refused when
    decoded."""
    monkeypatch.setenv("S3_INPUT_ENABLED", "false")
    request, error = outcome(lambda: inference.input_fn(body, content_type))
    if error is not None:
        assert 400 <= error.status_code < 500, error.message
        assert error.message
        return
    for image in request.images:
        _, error = outcome(lambda image=image: inference.decode_rgb(image))
        assert error is None or error.status_code == 400
