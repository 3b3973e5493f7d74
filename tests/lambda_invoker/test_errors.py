"""Answers other than success: each with its status, a stable code, and a detail kept apart
from the caller's message."""

from __future__ import annotations

import pytest

from invoker.errors import ApiError, bad_request, too_large

pytestmark = pytest.mark.unit


def test_the_callers_mistakes_have_their_status_and_code():
    assert (bad_request("x").status, bad_request("x").code) == (400, "bad_request")
    assert (too_large("x").status, too_large("x").code) == (413, "payload_too_large")


def test_the_detail_stays_out_of_the_message():
    error = ApiError(
        500, "misconfigured", "the function is misconfigured", "ENDPOINT_NAME is unset"
    )
    assert str(error) == error.message == "the function is misconfigured"
    assert error.detail == "ENDPOINT_NAME is unset"
