"""What ``deploy`` writes for Terraform reads back exactly as written: every value goes into a
``.tfvars`` and a ``.tfvars.json`` file and is read back by the real ``terraform console``
(one process for many values); a file it cannot edit exactly is refused in one line."""

from __future__ import annotations

import base64
import json
import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.demo.terraform import Terraform
from local_stack.emulator import client
from mlops import JobsError, tfvars
from tests.mlops.conftest import JobsStack, failure

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

# Pieces that HCL, JSON, Terraform's templates or Unicode treat specially.
PIECES = [
    "${",
    "%{",
    "$${",
    "%%{",
    "}",
    "$",
    "%",
    "~}",
    "\\",
    '"',
    "\\n",
    "\\u0041",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1b",
    "\x7f",
    "\u0085",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "\u200d",
    "é",
    "🐶",
    "👩\u200d💻",
    "\U0010fffd",
    "#",
    "//",
    "/*",
    "<<EOT",
    " if true ",
    "endif",
    "var.name",
    "s3://bucket/models/",
    "model.tar.gz",
]
CORPUS = [
    "s3://dog-breeds-data/models/%{ if true }a%{ endif }/model.tar.gz",
    "s3://dog-breeds-data/models/${var.name}/model.tar.gz",
    "s3://dog-breeds-data/models/🐶/model.tar.gz",
    "s3://dog-breeds-data/models/run-1/model.tar.gz\n",
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/dog-breeds-models/3",
    "$${already escaped}",
    "%%{ also }",
    "",
    *PIECES,
]
ASSIGNED_UNICODE = st.characters(exclude_categories=("Cs", "Cn"))  # as of Python's Unicode


def corpus(count: int = 150) -> list[str]:
    """The fixed values, then ``count`` joins of the pieces (the same every run)."""
    chosen = random.Random(20261124)
    joined = ["".join(chosen.choices(PIECES, k=chosen.randint(2, 8))) for _ in range(count)]
    return CORPUS + joined


def read_back(workdir: Path, var_file: Path, names: list[str]) -> list[object]:
    """The variables as Terraform reads ``var_file``: one ``terraform console`` for them all
    (a folder of variable declarations needs no init)."""
    (workdir / "variables.tf").write_text(
        "".join(f"variable {json.dumps(name)} {{}}\n" for name in names)
    )
    values = ", ".join(f"var.{name}" for name in names)
    printed = Terraform(workdir).console(
        f"base64encode(jsonencode([{values}]))", f"-var-file={var_file.name}"
    )
    return json.loads(base64.b64decode(json.loads(printed)))


EXISTING_HCL = (
    "# the deployed settings\r\n"
    'name = "dog-breeds"\r\n'
    'tags = { Team = "ml", Note = "$${kept}" }\r\n'
    'model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1" # old\r\n'
)
EXISTING_JSON = {
    "name": "dog-breeds",
    "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1",
    "scale": 0.1,
    "big": 10**30,
    "tiny": 1e-300,
    "tags": {"Note": "${kept literally}"},
}


def write_all(path: Path, values: list[str]) -> list[str]:
    names = [f"v{index}" for index in range(len(values))]
    for name, value in zip(names, values, strict=True):
        tfvars.update(path, name, value, remove="model_package_arn").write()
    return names


def test_every_value_reads_back_exactly_in_both_formats(tmp_path):
    values = corpus()
    for syntax, existing in (("tfvars", EXISTING_HCL), ("tfvars.json", json.dumps(EXISTING_JSON))):
        workdir = tmp_path / syntax
        workdir.mkdir()
        path = workdir / f"prod.{syntax}"
        path.write_bytes(existing.encode())
        names = write_all(path, values)
        others = ["name", "tags", *(["scale", "big", "tiny"] if syntax.endswith("json") else [])]
        read = read_back(workdir, path, names + others)
        assert read[: len(values)] == values, syntax
        kept = dict(zip(others, read[len(values) :], strict=True))
        assert kept["name"] == "dog-breeds"
        assert kept["tags"]["Note"] in ("${kept}", "${kept literally}")
        if syntax.endswith("json"):
            assert kept | {"tags": EXISTING_JSON["tags"]} == {k: EXISTING_JSON[k] for k in others}
        assert "model_package_arn" not in path.read_text()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(ASSIGNED_UNICODE, max_size=30).map(lambda s: unicodedata.normalize("NFC", s)),
        min_size=1,
        max_size=25,
    )
)
def test_any_text_reads_back_exactly(tmp_path_factory, values):
    workdir = tmp_path_factory.mktemp("tfvars")
    path = workdir / "any.auto.tfvars"
    assert read_back(workdir, path, write_all(path, values)) == values


def outcome(call, *args) -> tuple[object, str | None]:
    """What ``call(*args)`` returns, or its JobsError's message; any other exception fails."""
    try:
        return call(*args), None
    except JobsError as error:
        return None, str(error)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_a_value_is_one_hcl_line_or_a_clear_refusal(value):
    line, refusal = outcome(tfvars.assignment, "model_data_url", value)
    if refusal is not None:
        assert "is not in Unicode NFC form" in refusal or "is not Unicode text" in refusal
        return
    assert not {"\n", "\r"} & set(line)
    assert line.startswith('model_data_url = "')
    assert line.endswith('"')


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200), st.sampled_from(["x.tfvars", "x.tfvars.json"]))
def test_any_file_is_updated_or_refused_in_one_line(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("any") / name
    path.write_bytes(data)
    change, refusal = outcome(tfvars.update, path, "model_data_url", "s3://b/models/m/model.tar.gz")
    if refusal is not None:
        assert refusal.startswith(f"--tfvars {path}: ")
        assert "\n" not in refusal
        return
    assert '"s3://b/models/m/model.tar.gz"' in change.text


def test_the_model_deploy_checked_is_the_one_terraform_reads(serving_stack, emulator, tmp_path):
    """A key with template sequences and an emoji: S3 has it, and Terraform reads it."""
    url = f"s3://{serving_stack.bucket}/models/%{{ if true }}a%{{ endif }}-${{x}}-🐶/model.tar.gz"
    key = url.removeprefix(f"s3://{serving_stack.bucket}/")
    client("s3", emulator).put_object(Bucket=serving_stack.bucket, Key=key, Body=b"tar")
    for name in ("prod.tfvars", "prod.tfvars.json"):
        workdir = tmp_path / name
        workdir.mkdir()
        serving_stack.run("deploy", "--model-data", url, "--tfvars", str(workdir / name))
        assert read_back(workdir, workdir / name, ["model_data_url"]) == [url]


BAD_TFVARS = {
    "a directory": (lambda p: p.mkdir(), "a directory, not a file"),
    "not UTF-8": (lambda p: p.write_bytes(b'name = "\xff"\n'), "not UTF-8 text (byte 8)"),
    "a heredoc": (
        lambda p: p.write_text("model_data_url = <<EOT\ns3://b/k\nEOT\n"),
        "model_data_url is not a one-line string or null here",
    ),
    "twice": (
        lambda p: p.write_text('model_data_url = null\nmodel_data_url = "x"\n'),
        "model_data_url is assigned 2 times",
    ),
}
BAD_JSON_TFVARS = {
    "5,000 digits": ('{"big": ' + "9" * 5000 + "}", "a number of 5000 digits, more than"),
    "100,000 deep": ('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "inexact number": ('{"x": 0.1000000000000000000001}', "would not be written back exactly"),
    "infinity": ('{"x": Infinity}', "Infinity is not a number Terraform reads"),
    "duplicate": ('{"x": 1, "x": 2}', "x is assigned 2 times"),
    "not an object": ("[1]", "expected a JSON object of variables"),
    "not JSON": ("x = 1", "not JSON (Expecting value: line 1 column 1 (char 0))"),
}


def refused(stack: JobsStack, caplog, *args: str) -> str:
    message = failure(stack, caplog, *args)
    assert "\n" not in message
    return message


def bad_files(folder: Path) -> list[tuple[Path, str]]:
    """Each bad file, made in ``folder``, and what its refusal says."""
    made = []
    for case, (make, why) in BAD_TFVARS.items():
        make(folder / f"{case}.tfvars")
        made.append((folder / f"{case}.tfvars", why))
    for case, (text, why) in BAD_JSON_TFVARS.items():
        (folder / f"{case}.tfvars.json").write_text(text)
        made.append((folder / f"{case}.tfvars.json", why))
    return made


def test_a_tfvars_file_it_cannot_edit_exactly_is_refused_in_one_line(tmp_path):
    for path, why in bad_files(tmp_path):
        before = path.read_bytes() if path.is_file() else None
        with pytest.raises(JobsError) as refusal:
            tfvars.update(path, "model_data_url", "s3://b/models/m/model.tar.gz")
        assert str(refusal.value).startswith(f"--tfvars {path}: "), path.name
        assert why in str(refusal.value), path.name
        assert "\n" not in str(refusal.value)
        assert (path.read_bytes() if path.is_file() else None) == before, path.name


def test_deploy_exits_2_with_one_line_for_a_bad_tfvars_file(serving_stack, caplog, tmp_path):
    url = f"s3://{serving_stack.bucket}/models/run-2/model.tar.gz"
    named = ("a directory", "not UTF-8", "5,000 digits", "100,000 deep")  # in the issue
    for path, why in bad_files(tmp_path):
        if path.name.split(".")[0] in named:
            message = refused(
                serving_stack, caplog, "deploy", "--model-data", url, "--tfvars", str(path)
            )
            assert message.startswith(f"--tfvars {path}: ")
            assert why in message


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("s3://{bucket}/models/e\u0301/model.tar.gz", "is not in Unicode NFC form"),
        ("s3://{bucket}/models/\udcff/model.tar.gz", "is not Unicode text"),
        ("s3://{bucket}/models/run-2/model.tar.gz\n", "a control character (a newline?)"),
    ],
    ids=["not-NFC", "not-UTF-8", "trailing-newline"],
)
def test_a_model_url_terraform_would_read_otherwise_is_refused(serving_stack, caplog, value, why):
    message = refused(
        serving_stack, caplog, "deploy", "--model-data", value.format(bucket=serving_stack.bucket)
    )
    assert why in message
