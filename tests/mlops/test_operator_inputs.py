"""What the operator hands the CLI: a saved ``terraform output -json`` that is no such thing
is refused in one line with exit status 2, and ARNs are matched in full and compared parsed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops import JobsError
from mlops.cli import main
from mlops.registry import parse_package_arn, same_package
from mlops.stack import SOURCES, Stack

pytestmark = pytest.mark.unit

MODEL = "s3://dog-breeds-data/models/run-1/model.tar.gz"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3"
ROLE = "arn:aws:iam::123456789012:role/dog-breeds-training"
BAD_OUTPUTS = {
    "a directory": (lambda p: p.mkdir(), "a directory, not a file"),
    "not UTF-8": (lambda p: p.write_bytes(b'{"bucket_name": "\xff"}'), "not UTF-8 text (byte 17)"),
    "5,000 digits": (
        lambda p: p.write_text('{"bucket_name": {"value": ' + "9" * 5000 + "}}"),
        "a number of 5000 digits, more than the 4300 read",
    ),
    "100,000 deep": (
        lambda p: p.write_text('{"x": {"value": ' + "[" * 100_000 + "]" * 100_000 + "}}"),
        "JSON nested too deeply to read",
    ),
    "not a string": (
        lambda p: p.write_text('{"bucket_name": {"value": ["a", "b"]}}'),
        "bucket_name in {path} is not a string: pass --bucket",
    ),
}


@pytest.mark.parametrize("case", BAD_OUTPUTS)
def test_a_bad_outputs_file_exits_2_with_one_line(tmp_path, caplog, case):
    make, why = BAD_OUTPUTS[case]
    path = tmp_path / "outputs.json"
    make(path)
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        main(["deploy", "--terraform-outputs", str(path), "--model-data", MODEL])
    assert exit_info.value.code == 2
    (message,) = caplog.messages
    assert "\n" not in message
    assert why.format(path=path) in message
    assert str(path) in message


def settings_of(path: Path) -> list[tuple[object, str | None]]:
    """Every setting of a stack read from ``path``: its value, or its JobsError's message."""
    stack = Stack({}, Path("terraform"), path)
    results = []
    for setting in SOURCES:
        try:
            results.append((stack.get(setting), None))
        except JobsError as error:
            results.append((None, str(error)))
    return results


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
outputs_files = st.one_of(
    st.binary(max_size=100),
    st.dictionaries(st.sampled_from([o for _, o in SOURCES.values()]), json_values).map(
        lambda d: json.dumps({k: {"value": v} for k, v in d.items()}).encode()
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(outputs_files)
def test_any_outputs_file_gives_strings_or_one_line_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("outputs") / "outputs.json"
    path.write_bytes(data)
    for value, refusal in settings_of(path):
        if refusal is None:
            assert isinstance(value, str)
        else:
            assert "\n" not in refusal


@pytest.mark.parametrize(
    "arn", [ROLE + "\n", ROLE + "\x00", f" {ROLE}", ROLE.replace("1", "\u0661")]
)
def test_a_role_arn_is_matched_in_full(arn):
    with pytest.raises(JobsError, match="is not an IAM role ARN"):
        Stack({"role_arn": arn}, Path("terraform")).get("role_arn")


@pytest.mark.parametrize(
    "arn",
    [PACKAGE + "\n", PACKAGE + "/", PACKAGE.replace("/3", "/03"), PACKAGE.replace("3", "\u0663")],
    ids=["newline", "slash", "leading-zero", "arabic-digit"],
)
def test_a_package_arn_is_matched_in_full(arn):
    with pytest.raises(JobsError, match="is not a model package version ARN"):
        parse_package_arn(arn, "dog-breeds-models")


def test_package_arns_compare_parsed():
    assert same_package(PACKAGE, PACKAGE.replace("dog-breeds-models", "Dog-Breeds-Models"))
    assert not same_package(PACKAGE, PACKAGE.replace("/3", "/30"))
    assert not same_package(PACKAGE, PACKAGE + "\n")
    assert not same_package(PACKAGE, None)
    assert not same_package("not an arn", "not an arn")


@settings(max_examples=200, deadline=None)
@given(st.text() | st.from_regex(r"arn:aws:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/.*"))
def test_any_text_is_a_version_of_the_group_or_a_clear_error(text):
    try:
        parsed, refusal = parse_package_arn(text, "dog-breeds-models"), None
    except JobsError as error:
        parsed, refusal = None, str(error)
    if refusal is None:
        assert parsed == text
        assert same_package(text, text)
    else:
        assert "not a model package version ARN" in refusal or "is a version of" in refusal
