"""Fixtures of the boot script's tests: S3 answering errors on chosen requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ec2.s3_faults import S3FaultFront


@pytest.fixture
def s3_faults(emulator) -> Iterator[S3FaultFront]:
    """A front for the emulator that answers the requests a test chooses with S3's errors."""
    with S3FaultFront(emulator) as front:
        yield front
