"""{"url": ...} input: the handler fetches allowlisted https URLs, and nothing else.

A loopback HTTPS server with a throwaway certificate stands in for the image host; the
handler's default TLS verification trusts it through SSL_CERT_FILE, as it would trust a CA.
The allowlist only admits port 443, so the fetch itself is exercised through fetch_url.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from invoker.config import INPUT_DEADLINE_SECONDS
from invoker.errors import ApiError
from invoker.events import Request
from tests.images import TINY_JPEG

pytestmark = pytest.mark.integration

JPEG = TINY_JPEG


def self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def image_host(tmp_path, monkeypatch):
    routes = {
        "/dog.jpg": (200, {}, JPEG),
        "/page.html": (200, {}, b"<html></html>"),
        "/moved.jpg": (302, {"Location": "https://169.254.169.254/latest"}, b""),
        "/huge.jpg": (200, {}, JPEG + b"\x00" * 4096),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/drip.jpg":  # a host that sends a byte a second, forever
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                for _ in range(30):
                    try:
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(1)
                return
            status, headers, body = routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    cert_path, key_path = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    yield f"https://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def handler(load_handler):
    return load_handler(URL_ALLOWLIST="127.0.0.1", MAX_IMAGE_BYTES="2048")


def fetch(handler, url: str) -> bytes:
    return handler.fetch_url(Request("url", 5, url=url))


def test_fetches_an_image_over_verified_https(handler, image_host):
    assert fetch(handler, f"{image_host}/dog.jpg") == JPEG


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/moved.jpg", 502, "the url answered HTTP 302"),
        ("/missing.jpg", 502, "the url answered HTTP 404"),
        ("/page.html", 415, "not in a format the classifier reads"),
        ("/huge.jpg", 413, "the limit is 2048"),
    ],
)
def test_refuses_redirects_errors_non_images_and_huge_bodies(
    handler, image_host, path, status, message
):
    with pytest.raises(ApiError) as raised:
        fetch(handler, f"{image_host}{path}")
    assert raised.value.status == status
    assert message in raised.value.message


def test_untrusted_certificate_is_refused(handler, image_host, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(ApiError) as raised:
        fetch(handler, f"{image_host}/dog.jpg")
    assert raised.value.status == 502
    assert "CERTIFICATE_VERIFY_FAILED" in raised.value.message


def test_a_host_that_drips_bytes_is_cut_off_at_the_input_deadline(handler, image_host):
    """Each read gets a byte within the read timeout, so only the whole-fetch deadline stops
    it: INPUT_FETCH_SECONDS is what the function's time budget counts for input."""
    started = time.monotonic()
    with pytest.raises(ApiError) as raised:
        fetch(handler, f"{image_host}/drip.jpg")
    took = time.monotonic() - started
    assert (raised.value.status, raised.value.code) == (504, "input_timeout")
    assert INPUT_DEADLINE_SECONDS <= took < 20  # the host would drip for 30 s
