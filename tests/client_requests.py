"""A photo sent the ways ordinary clients send it, and what each way must get: one set of
cases that the endpoint (``ml/``) and the Lambda (``lambda/``) are both tested with.

- raw bytes, under the content type a client declares: ``curl --data-binary -H`` with a
  correct, a loose (``image/jpg``, ``image/pjpeg``) or a wrong ``image/*`` type, SDK defaults
  (``application/octet-stream``), none at all;
- JSON: the base64 of ``base64.b64encode``, ``base64.encodebytes`` and ``openssl base64``
  (line breaks), a browser's ``FileReader.readAsDataURL`` (a ``data:`` URL), URL-safe and
  unpadded base64, surrounding whitespace; UTF-8 with and without a byte order mark, a
  declared charset;
- and what must be refused, with the documented status and code: JSON that is not UTF-8 and
  says nothing of its charset, a charset that does not exist, a text or PDF body, a HEIC photo.

An accepted request must classify the photo as the plain request does (same top-1).
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

from hypothesis import strategies as st

OK = 200


@dataclass(frozen=True)
class ClientRequest:
    name: str
    content_type: str
    body: bytes
    status: int  # 200, or the documented refusal
    code: str = ""  # the refusal's error code


def json_body(image: str, encoding: str = "utf-8", prefix: bytes = b"") -> bytes:
    return prefix + json.dumps({"image": image}).encode(encoding)


def lines(text: str, width: int, newline: str) -> str:
    return newline.join(text[i : i + width] for i in range(0, len(text), width))


# The start of an iPhone photo (ISO base media file, major brand heic): enough to be told apart.
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"


def client_requests(photo: bytes) -> list[ClientRequest]:
    """``photo`` (a JPEG) in every way a client sends it, and the refusals."""
    b64 = base64.b64encode(photo).decode()
    urlsafe = base64.urlsafe_b64encode(photo).decode()
    return [
        ClientRequest("image/jpeg", "image/jpeg", photo, OK),
        ClientRequest("image/jpg", "image/jpg", photo, OK),
        ClientRequest("image/pjpeg", "image/pjpeg", photo, OK),
        ClientRequest("a wrong image type", "image/png", photo, OK),
        ClientRequest("octet-stream", "application/octet-stream", photo, OK),
        ClientRequest("x-image", "application/x-image", photo, OK),
        ClientRequest("no content type", "", photo, OK),
        ClientRequest("json", "application/json", json_body(b64), OK),
        ClientRequest("json charset=utf-8", "application/json; charset=UTF-8", json_body(b64), OK),
        ClientRequest("text/json", "text/json", json_body(b64), OK),
        ClientRequest(
            "data: URL (FileReader)",
            "application/json",
            json_body(f"data:image/jpeg;base64,{b64}"),
            OK,
        ),
        ClientRequest(
            "base64.encodebytes",
            "application/json",
            json_body(base64.encodebytes(photo).decode()),
            OK,
        ),
        ClientRequest("openssl base64", "application/json", json_body(lines(b64, 64, "\r\n")), OK),
        ClientRequest("url-safe base64", "application/json", json_body(urlsafe), OK),
        ClientRequest("unpadded base64", "application/json", json_body(b64.rstrip("=")), OK),
        ClientRequest(
            "surrounding whitespace", "application/json", json_body(f"\n  {b64}  \n"), OK
        ),
        ClientRequest(
            "UTF-8 byte order mark", "application/json", json_body(b64, prefix=b"\xef\xbb\xbf"), OK
        ),
        ClientRequest(
            "UTF-16 with its charset",
            "application/json; charset=utf-16",
            json_body(b64, "utf-16"),
            OK,
        ),
        ClientRequest(
            "UTF-16 without a charset",
            "application/json",
            json_body(b64, "utf-16"),
            400,
            "bad_request",
        ),
        ClientRequest(
            "a latin-1 byte", "application/json", b'{"image": "\xe9"}', 400, "bad_request"
        ),
        ClientRequest(
            "an unknown charset",
            "application/json; charset=klingon",
            json_body(b64),
            415,
            "unsupported_media_type",
        ),
        ClientRequest(
            "a charset that inflates",
            "application/json; charset=zlib_codec",
            zlib.compress(json_body(b64)),
            415,
            "unsupported_media_type",
        ),
        ClientRequest("text", "text/plain", b"hello, dog", 415, "unsupported_media_type"),
        ClientRequest("a PDF", "application/octet-stream", PDF, 415, "unsupported_media_type"),
        ClientRequest("a HEIC photo", "image/heic", HEIC_HEADER, 415, "unsupported_media_type"),
    ]


def base64_shapes(data: bytes):
    """Every way a client may write the image's base64 (and some ways it may not)."""
    standard = base64.b64encode(data).decode()
    return st.one_of(
        st.just(standard),
        st.just(standard.rstrip("=")),
        st.just(base64.urlsafe_b64encode(data).decode()),
        st.tuples(st.integers(4, 120), st.sampled_from(["\n", "\r\n", " "])).map(
            lambda shape: shape[1].join(
                standard[i : i + shape[0]] for i in range(0, len(standard), shape[0])
            )
        ),
        st.sampled_from(["data:image/jpeg;base64,", "data:;base64,", "DATA:image/x;BASE64,"]).map(
            lambda prefix: prefix + standard
        ),
        st.tuples(st.text(" \t\r\n", max_size=4), st.text(" \t\r\n", max_size=4)).map(
            lambda pad: pad[0] + standard + pad[1]
        ),
    )
