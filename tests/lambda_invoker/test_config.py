"""The configuration from the environment, and the limits it must fit."""

from __future__ import annotations

import pytest

from invoker.config import Config

pytestmark = pytest.mark.unit


def test_config_from_env():
    config = Config.from_env({"ENDPOINT_NAME": "e", "URL_ALLOWLIST": " A.com, b.com ,"})
    assert config.url_allowlist == {"a.com", "b.com"}
    assert config.cors_allow_origin == ""


def test_the_worst_case_time_must_fit_the_function_timeout():
    assert Config(endpoint_name="e").problems() == []
    slow = Config(endpoint_name="e", invoke_timeout_seconds=20, invoke_attempts=2)
    (problem,) = slow.problems()
    assert "the worst case takes 52 s" in problem
    assert "more than the function timeout of 29 s" in problem
    too_big = Config(endpoint_name="e", max_image_bytes=5_000_000)
    assert "does not fit InvokeEndpoint's 6291456-byte body" in too_big.problems()[0]
