"""Generated malformed events: every one gets a 4xx with a clear message, none raises, and
none reaches the endpoint, S3 or the network."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoker.images import MAX_IMAGE_PIXELS
from tests.images import TINY_JPEG

pytestmark = pytest.mark.unit

MAX_IMAGE_BYTES = 2048
JPEG = TINY_JPEG
EXAMPLES = 600

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
not_a_string = json_values.filter(lambda v: not isinstance(v, str))
b64 = st.binary(max_size=256).map(lambda data: base64.b64encode(data).decode())
valid_image = st.just(base64.b64encode(JPEG).decode())


def non_image_bytes(data: bytes) -> bool:
    return bool(data) and not data.startswith((b"\xff\xd8\xff", b"\x89PNG"))


payloads = st.one_of(
    # missing or ambiguous sources, nested junk
    st.dictionaries(
        st.text(max_size=10).filter(lambda k: k not in ("image", "s3_uri", "url")),
        json_values,
        max_size=5,
    ),
    st.fixed_dictionaries({"image": valid_image, "s3_uri": st.text(), "url": st.text()}),
    # wrong types
    st.fixed_dictionaries({"image": not_a_string}),
    st.fixed_dictionaries({"s3_uri": not_a_string}),
    st.fixed_dictionaries({"url": not_a_string}),
    # bad base64, non-image bytes, huge payloads
    st.fixed_dictionaries(
        {
            "image": st.text(min_size=1).filter(
                lambda t: not all(c.isalnum() or c in "+/=" for c in t)
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "image": st.binary(min_size=1, max_size=512)
            .filter(non_image_bytes)
            .map(lambda d: base64.b64encode(d).decode())
        }
    ),
    st.fixed_dictionaries(
        {
            "image": st.integers(MAX_IMAGE_BYTES + 1, 4 * MAX_IMAGE_BYTES).map(
                lambda n: base64.b64encode(JPEG + b"\x00" * n).decode()
            )
        }
    ),
    # bad options on an otherwise good image
    st.fixed_dictionaries(
        {
            "image": valid_image,
            "top_k": st.one_of(
                st.integers(max_value=0),
                st.integers(min_value=134),
                st.booleans(),
                st.text(),
                st.floats(),
                st.lists(st.integers(), max_size=2),
            ),
        }
    ),
    # disallowed S3 URIs and URLs
    st.fixed_dictionaries(
        {
            "s3_uri": st.one_of(
                st.text(max_size=40),
                st.builds(
                    "s3://{}/{}".format,
                    st.from_regex(r"[a-z0-9]{3,20}", fullmatch=True).filter(
                        lambda b: b != "dog-breeds-data"
                    ),
                    st.text(max_size=20),
                ),
                st.builds(
                    "s3://dog-breeds-data/{}".format,
                    st.text(max_size=30).filter(lambda k: not k.startswith("inference-input/")),
                ),
                st.builds("s3://dog-breeds-data/inference-input/{}/../{}".format, b64, b64),
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "url": st.one_of(
                st.text(max_size=40),
                st.builds(
                    "{}://images.example.com/{}".format,
                    st.sampled_from(["http", "ftp", "file", "gopher", "HTTPS "]),
                    st.text(max_size=10),
                ),
                st.builds(
                    "https://{}/dog.jpg".format,
                    st.from_regex(
                        r"[a-z]{1,10}\.(com|net|internal)|169\.254\.169\.254|localhost|127\.0\.0\.1",
                        fullmatch=True,
                    ),
                ),
                st.just("https://images.example.com@evil.example.net/dog.jpg"),
                st.just("https://images.example.com:8443/dog.jpg"),
                st.just("https://@images.example.com/dog.jpg"),
                # spaces, control characters, non-ASCII anywhere in an allowed URL
                st.builds(
                    "https://images.example.com/{}{}{}".format,
                    st.text(max_size=5),
                    st.sampled_from([" ", "\n", "\t", "\x00", "\x7f", "é", "\u2028", "#"]),
                    st.text(max_size=5),
                ),
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "s3_uri": st.builds(
                "s3://dog-breeds-data/inference-input/dog{}".format,
                st.sampled_from(["\n", "\r\n", "\x00", "\x1f", "\x7f"]),
            )
        }
    ),
    # image headers that lie: damaged JPEG segments, impossible or extreme PNG sizes
    st.fixed_dictionaries(
        {
            "image": st.binary(max_size=300).map(
                lambda d: base64.b64encode(b"\xff\xd8\xff" + d).decode()
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "image": st.tuples(
                st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.binary(max_size=40)
            )
            .filter(
                lambda t: (
                    not (
                        0 < t[0] <= 10 * t[1]
                        and 0 < t[1] <= 10 * t[0]
                        and t[0] * t[1] <= MAX_IMAGE_PIXELS
                    )
                )
            )
            .map(lambda t: base64.b64encode(png_header(t[0], t[1]) + t[2]).decode())
        }
    ),
)


def png_header(width: int, height: int) -> bytes:
    """The first bytes of a PNG claiming ``width`` x ``height`` pixels."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + len(ihdr).to_bytes(4, "big") + b"IHDR" + ihdr + b"\0" * 4


# Bodies Python's json module cannot take: nesting past the recursion limit, integers past
# 4300 digits; and top_k in query strings that only look like numbers.
hostile_bodies = st.one_of(
    st.integers(1_000, 100_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1_000, 20_000).map(lambda depth: '{"image": ' + "[" * depth + "]" * depth + "}"),
    st.integers(4_301, 20_000).map(lambda digits: '{"image": "x", "top_k": 1' + "0" * digits + "}"),
)
hostile_top_k = st.one_of(
    st.sampled_from(
        [
            "\uff13",
            "\u00b2",
            "\u0663",
            "\u0967\u0968",
            "1\u0663",
            "-1",
            "+5",
            " 5",
            "5 ",
            "0x5",
            "1e2",
            "",
        ]
    ),
    st.integers(4, 5_000).map(lambda digits: "1" * digits),
)
hostile_events = st.one_of(
    hostile_bodies.map(lambda body: {"version": "2.0", "requestContext": {}, "body": body}),
    hostile_top_k.map(
        lambda top_k: {
            "version": "2.0",
            "requestContext": {},
            "headers": {"content-type": "image/jpeg"},
            "isBase64Encoded": True,
            "body": base64.b64encode(JPEG).decode(),
            "queryStringParameters": {"top_k": top_k},
        }
    ),
    st.one_of(st.lists(st.text(max_size=5), max_size=3), st.text(), st.integers()).map(
        lambda headers: {
            "version": "2.0",
            "requestContext": {},
            "headers": headers,
            "body": json.dumps({"image": base64.b64encode(JPEG).decode()}),
        }
    ),
)


def http_events(payload_strategy):
    """The same payloads wrapped as API Gateway / function URL events, plus broken wrappers."""
    return st.one_of(
        payload_strategy.map(
            lambda p: {"httpMethod": "POST", "requestContext": {}, "body": json.dumps(p)}
        ),
        payload_strategy.map(
            lambda p: {
                "version": "2.0",
                "requestContext": {},
                "isBase64Encoded": True,
                "body": base64.b64encode(json.dumps(p).encode()).decode(),
            }
        ),
        st.fixed_dictionaries(
            {
                "httpMethod": st.just("POST"),
                "requestContext": st.just({}),
                "body": st.one_of(
                    st.none(),
                    st.just(""),
                    not_a_string,
                    st.text().filter(lambda t: not _is_object(t)),
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "version": st.just("2.0"),
                "requestContext": st.just({}),
                "isBase64Encoded": st.just(True),
                "body": st.text(min_size=1).filter(lambda t: "!" in t or "@" in t),
            }
        ),
    )


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


events = st.one_of(
    payloads,
    http_events(payloads),
    hostile_events,
    json_values.filter(lambda v: not isinstance(v, dict)),
)


def test_malformed_events_get_a_clear_4xx(load_handler, context):
    handler = load_handler(
        MAX_IMAGE_BYTES=str(MAX_IMAGE_BYTES), AWS_ENDPOINT_URL="http://127.0.0.1:9"
    )  # nothing may be called
    outbound: list[str] = []
    for boto_client in (handler.RUNTIME, handler.s3_client()):
        boto_client.meta.events.register(
            "before-send", lambda request, **_: outbound.append(request.url)
        )
    seen = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(event=events)
    def check(event):
        result = handler.lambda_handler(event, context)
        body = json.loads(result["body"])
        assert 400 <= result["statusCode"] < 500, (event, body)
        assert result["headers"]["Content-Type"] == "application/json"
        assert len(body["error"]["message"]) > 10
        assert body["error"]["code"]
        seen.append(result["statusCode"])

    check()
    assert outbound == [], "a malformed event reached AWS"
    assert len(seen) >= 500
    print(f"{len(seen)} malformed events, statuses {sorted(set(seen))}")
