"""The embedded AWS emulator: moto server, the shims and probes for its gaps, the recorder of
the signed requests it answers, boto3 clients bound to it, and local mode (the SageMaker jobs,
Lambda functions and endpoints' models it runs for real, the HTTP APIs it routes). See
local_stack/README.md.

The package's face is what the demo, the tests and the benchmarks use; its modules import
one another by full name (server -> shims -> probes, server -> local_mode -> training, tuning,
functions and endpoints -> model_servers, server -> http_apis, clients -> server), never this
file.
"""

from local_stack.emulator.clients import client, client_factory
from local_stack.emulator.http_apis import local_address
from local_stack.emulator.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    TEST_CREDENTIALS,
    Emulator,
    EmulatorError,
    answers_like_aws,
    connect_or_start,
    start_moto,
)
from local_stack.emulator.shims import SHIM_NAMES

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "SHIM_NAMES",
    "TEST_CREDENTIALS",
    "Emulator",
    "EmulatorError",
    "answers_like_aws",
    "client",
    "client_factory",
    "connect_or_start",
    "local_address",
    "start_moto",
]
