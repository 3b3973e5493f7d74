"""One factory for boto3 clients that talk to the emulator."""

from __future__ import annotations

import boto3
from botocore.config import Config

from tests.emulator import TEST_CREDENTIALS, Emulator

# Fail fast against a local server instead of retrying for minutes.
_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)


def client(service: str, emulator: Emulator, **kwargs):
    """A boto3 client for ``service`` bound to the emulator's endpoint and test credentials."""
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint_url,
        region_name=emulator.region,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=kwargs.pop("config", _CLIENT_CONFIG),
        **kwargs,
    )
