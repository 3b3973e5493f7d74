"""``mlops transform``'s pure parts: instance types, SageMaker's limits, where answers land,
and the parsers of what the job leaves (answers and data-log lines), fed hostile input: each
gives a line for the photo, never an exception."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_stack.emulator import transforms
from mlops import JobsError
from mlops import transform as cli

NAMES = {"dogs/transform/in/a.jpg", "dogs/transform/in/odd: name.jpg"}


@pytest.mark.parametrize(
    ("instance_type", "vcpus"),
    [("ml.m5.large", 2), ("ml.m5.xlarge", 4), ("ml.c5.9xlarge", 36)],
)
def test_x86_cpu_types_give_their_vcpus(instance_type, vcpus):
    assert cli.cpu_vcpus(instance_type) == vcpus


@pytest.mark.parametrize(
    ("instance_type", "why"),
    [
        ("ml.g4dn.xlarge", "x86 CPU inference image"),
        ("ml.c7g.large", "x86 CPU inference image"),
        ("ml.inf2.xlarge", "x86 CPU inference image"),
        ("ml.t2.medium", "expected ml.FAMILY.SIZE"),
        ("ml.t3.large", "burstable"),
        ("ml.trn1.2xlarge", "x86 CPU inference image"),
        ("ml.m5", "expected ml.FAMILY.SIZE"),
        ("m5.xlarge", "expected ml.FAMILY.SIZE"),
        ("ml.m5.metal", "expected ml.FAMILY.SIZE"),
    ],
)
def test_types_the_cpu_image_cannot_serve_on_are_refused(instance_type, why):
    with pytest.raises(JobsError, match=why):
        cli.cpu_vcpus(instance_type)


def options(**changes) -> argparse.Namespace:
    values = {
        "instance_type": "ml.m5.xlarge",
        "instance_count": 1,
        "max_payload": 6,
        "max_concurrent": None,
        "poll_seconds": 30,
        "wait_timeout": 3600,
    }
    return argparse.Namespace(**{**values, **changes})


def test_concurrency_defaults_to_the_instances_vcpus():
    args = options()
    assert cli.check_options(args) == 4
    assert args.max_concurrent == 4


def test_default_concurrency_keeps_within_100_mb_at_once_on_a_large_instance():
    args = options(instance_type="ml.c5.9xlarge")
    assert cli.check_options(args) == 36
    assert args.max_concurrent == 16  # 16 x 6 MB: CreateTransformJob's limit is 100 MB


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"instance_count": 0}, "--instance-count 0: 1 to 100"),
        ({"instance_count": 101}, "--instance-count 101: 1 to 100"),
        ({"max_payload": 0}, "--max-payload 0: 1 to 100 MB"),
        ({"max_payload": 101}, "--max-payload 101: 1 to 100 MB"),
        ({"max_concurrent": 0}, "--max-concurrent 0: at least 1"),
        # CreateTransformJob: MaxConcurrentTransforms x MaxPayloadInMB at most 100 MB.
        ({"max_concurrent": 20, "max_payload": 6}, "over SageMaker's 100 MB"),
        ({"poll_seconds": 0}, "--poll-seconds"),
    ],
)
def test_options_outside_sagemakers_limits_are_refused(changes, message):
    with pytest.raises(JobsError, match=message):
        cli.check_options(options(**changes))


@given(
    relative=st.text(
        st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
    ).filter(lambda key: not key.endswith("/")),
    output=st.sampled_from(["transform/out/", "transform/out/run-1/"]),
)
def test_the_cli_looks_for_answers_where_local_mode_writes_them(relative, output):
    key = f"transform/in/batch/{relative}"
    expected = transforms.output_key("transform/in/batch/", key, output)
    assert cli.output_key("transform/in/batch/", key, output) == expected


@given(st.text(max_size=300))
def test_a_data_log_line_of_any_text_names_a_photo_or_nothing(message):
    found = cli.data_log_line(message, NAMES)
    assert found is None or found[0] in NAMES


def test_a_key_holding_a_colon_is_found_whole():
    line = "2026-12-07T08:00:00.000:[sagemaker logs]: dogs/transform/in/odd: name.jpg: Message:"
    assert cli.data_log_line(line, NAMES) == ("dogs/transform/in/odd: name.jpg", "Message:")


@given(st.lists(st.text(max_size=80), min_size=1, max_size=8))
def test_an_error_of_any_logged_lines_is_one_bounded_text(lines):
    text = cli.error_text(lines)
    assert isinstance(text, str)
    assert len(text) <= 1000


def test_the_handlers_json_error_gives_its_message():
    body = json.dumps({"error": {"code": "bad_request", "message": "a damaged image"}})
    assert cli.error_text(["ClientError: 400", "", "Message:", body]) == (
        "ClientError: 400: a damaged image"
    )


@given(
    st.binary(max_size=300)
    | st.builds(
        lambda v: json.dumps(v).encode(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=12), children, max_size=3)
            ),
            max_leaves=10,
        ),
    )
)
def test_an_answer_of_any_bytes_is_answered_or_failed(body):
    fields = cli.answer_fields(body)
    assert fields["status"] in ("answered", "failed")
    assert fields["status"] == "answered" or fields["error"]


def test_the_results_file_is_written_whole_or_not_at_all(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    with pytest.raises(TypeError):
        cli.write_lines(path, [{"key": "a.jpg"}, {"key": object()}])
    assert list(tmp_path.iterdir()) == []
    cli.write_lines(path, [{"key": "a.jpg", "status": "answered"}])
    assert json.loads(path.read_text()) == {"key": "a.jpg", "status": "answered"}
