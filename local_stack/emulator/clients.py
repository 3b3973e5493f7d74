"""boto3 clients bound to the emulator, built through localstack-client.

localstack-client's session is the LocalStack-compatible one: it points every service at one
host and port (the emulator's), so the same code talks to the embedded moto server or to a
real LocalStack. It gives ``AWS_ENDPOINT_URL`` precedence over the host it is given; a client
that would therefore reach another emulator is refused instead of silently doing so.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.config import Config
from localstack_client.config import get_service_endpoint
from localstack_client.session import Session

from local_stack.emulator.server import TEST_CREDENTIALS, Emulator, EmulatorError

# Fail fast against a local server instead of retrying for minutes.
CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)


def session(emulator: Emulator) -> Session:
    return Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=emulator.region,
        localstack_host=emulator.host_port,
    )


def client(service: str, emulator: Emulator, **kwargs):
    """A boto3 client for ``service`` bound to the emulator's endpoint and test credentials."""
    endpoint = get_service_endpoint(service, emulator.host_port)
    if endpoint is not None and endpoint.rstrip("/") != emulator.endpoint_url:
        raise EmulatorError(
            f"AWS_ENDPOINT_URL={endpoint} points at another emulator than {emulator.endpoint_url}"
        )
    return session(emulator).client(service, config=kwargs.pop("config", CLIENT_CONFIG), **kwargs)


def client_factory(emulator: Emulator) -> Callable[..., object]:
    """``client`` with the emulator bound: a service name in, a client out (the probes' way
    to reach an emulator)."""
    return lambda service, **kwargs: client(service, emulator, **kwargs)
