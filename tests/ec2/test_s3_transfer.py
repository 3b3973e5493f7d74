"""ml.s3_transfer, the boot script's S3 commands, against the emulator: S3 failing for now
(throttled, 5xx, unreachable) is exit 3, S3 refusing (403, 404) exit 5, and the data mirror
deletes what S3 no longer holds and fetches again what changed.

Faults come from ``S3FaultFront`` (tests/ec2/s3_faults.py): real HTTP answers with S3's error
documents on chosen requests, moto's answers on the rest."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.emulator import client
from ml import s3_transfer
from ml.s3_transfer import MIRROR_RECORD, Mirrored, download_prefix

pytestmark = pytest.mark.integration

FILES = {
    "train/001.Affenpinscher/a.jpg": b"a" * 10,
    "train/001.Affenpinscher/b.jpg": b"b" * 20,
    "train/999.Stray/c.jpg": b"c" * 30,
    "valid/001.Affenpinscher/d.jpg": b"d" * 40,
}


@pytest.fixture
def bucket(emulator) -> str:
    name = f"transfer-{uuid.uuid4().hex[:10]}"
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=name)
    for relative, content in FILES.items():
        s3.put_object(Bucket=name, Key=f"data/{relative}", Body=content)
    return name


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MIRROR_RECORD
    }


def through(front, attempts: int = 1):
    """A client that reaches the emulator through the fault front."""
    config = Config(retries={"total_max_attempts": attempts, "mode": "standard"})
    return boto3.client("s3", endpoint_url=front.url, config=config)


# command line, the request the fault answers (method, path), and whether S3 is asked for an
# object that exists (exists answers 404 with "absent", not a refusal).
COMMANDS = {
    "upload": ("PUT", r"/models/r/model\.tar\.gz$"),
    "put-if-absent": ("PUT", r"/models/r/_SUCCESS$"),
    "download": ("GET", r"/data/train/001\.Affenpinscher/b\.jpg$"),
    "get": ("GET", r"/data/valid/001\.Affenpinscher/d\.jpg$"),
    "exists": ("HEAD", r"/models/r/_SUCCESS$"),
}


def command_line(command: str, bucket: str, tmp_path: Path) -> list[str]:
    (tmp_path / "file").write_bytes(b"model")
    return {
        "upload": ["upload", str(tmp_path / "file"), f"s3://{bucket}/models/r/model.tar.gz"],
        "put-if-absent": [
            "put-if-absent",
            str(tmp_path / "file"),
            f"s3://{bucket}/models/r/_SUCCESS",
        ],
        "download": ["download", "--delete", f"s3://{bucket}/data/", str(tmp_path / "data")],
        "get": ["get", f"s3://{bucket}/data/valid/001.Affenpinscher/d.jpg", str(tmp_path / "d")],
        "exists": ["exists", f"s3://{bucket}/models/r/_SUCCESS"],
    }[command]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("status", "code", "expected", "said"),
    [
        (503, "SlowDown", s3_transfer.S3_UNAVAILABLE, "could not answer"),
        (500, "InternalError", s3_transfer.S3_UNAVAILABLE, "could not answer"),
        (403, "AccessDenied", s3_transfer.S3_REFUSED, "refused"),
    ],
)
def test_each_command_tells_failing_for_now_from_refused(
    command, status, code, expected, said, bucket, s3_faults, tmp_path, monkeypatch, caplog
):
    method, path = COMMANDS[command]
    fault = s3_faults.fail(method, path, status, code)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_faults.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with caplog.at_level(logging.ERROR, logger="ml.s3_transfer"):
        assert s3_transfer.main(command_line(command, bucket, tmp_path)) == expected
    assert fault.hits == 1
    (line,) = caplog.messages
    assert line.startswith(f"S3 {said} {command} s3://{bucket}/")
    if method != "HEAD":  # a HEAD answer has no body: botocore names the status alone
        assert code in line


def test_an_upload_raises_the_error_s3_answered(bucket, s3_faults, tmp_path, monkeypatch):
    """Not boto3's S3UploadFailedError, whose link to S3's error Python cuts when the transfer
    manager's shutdown raises that error again (on a loaded machine): the status stays known."""
    s3_faults.fail("PUT", r"/models/r/model\.tar\.gz$", 500, "InternalError")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_faults.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    (tmp_path / "model.tar.gz").write_bytes(b"model")
    with pytest.raises(ClientError) as raised:
        s3_transfer.upload(tmp_path / "model.tar.gz", f"s3://{bucket}/models/r/model.tar.gz")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert s3_transfer.is_transient(raised.value)


def test_a_missing_object_is_a_refusal_but_for_exists(bucket, tmp_path, caplog):
    missing = f"s3://{bucket}/models/none/_SUCCESS"
    assert s3_transfer.main(["exists", missing]) == s3_transfer.ABSENT
    with caplog.at_level(logging.ERROR, logger="ml.s3_transfer"):
        assert s3_transfer.main(["get", missing, str(tmp_path / "x")]) == s3_transfer.S3_REFUSED
    assert "404" in caplog.text


def test_boto3_retries_a_throttled_upload_before_it_reports_it(
    bucket, s3_faults, tmp_path, monkeypatch, emulator
):
    """One SlowDown is absorbed by boto3's own retry; one on every try is exit 3, after them."""
    s3 = client("s3", emulator)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_faults.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    once = s3_faults.fail("PUT", r"/models/r/model\.tar\.gz$", 503, "SlowDown", times=1)
    upload = command_line("upload", bucket, tmp_path)
    assert s3_transfer.main(upload) == 0
    assert once.hits == 1
    assert s3.get_object(Bucket=bucket, Key="models/r/model.tar.gz")["Body"].read() == b"model"

    always = s3_faults.fail("PUT", r"/models/r/other$", 503, "SlowDown")
    upload[-1] = f"s3://{bucket}/models/r/other"
    assert s3_transfer.main(upload) == s3_transfer.S3_UNAVAILABLE
    assert always.hits == 2


def test_an_unreachable_s3_is_failing_for_now(bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for command in ("upload", "download", "exists"):
        assert s3_transfer.main(command_line(command, bucket, tmp_path)) == 3, command


def test_the_mirror_deletes_what_s3_no_longer_holds(bucket, emulator, tmp_path, caplog):
    s3, data = client("s3", emulator), tmp_path / "data"
    assert download_prefix(f"s3://{bucket}/data/", data, client=s3) == Mirrored(4, 0, 0)
    assert tree(data) == FILES
    # The recovery the README gives: delete a bad image and a stray class in S3, boot again.
    s3.delete_object(Bucket=bucket, Key="data/train/001.Affenpinscher/b.jpg")
    s3.delete_object(Bucket=bucket, Key="data/train/999.Stray/c.jpg")
    (data / "train" / "001.Affenpinscher" / ".b.jpg.part").write_bytes(b"left by a crash")
    # Without --delete, as aws s3 sync: nothing local goes.
    assert download_prefix(f"s3://{bucket}/data/", data, client=s3) == Mirrored(0, 2, 0)
    assert tree(data) == {**FILES, "train/001.Affenpinscher/.b.jpg.part": b"left by a crash"}
    with caplog.at_level(logging.INFO, logger="ml.s3_transfer"):
        mirrored = download_prefix(f"s3://{bucket}/data/", data, client=s3, delete=True)
    assert mirrored == Mirrored(0, 2, 3)
    assert tree(data) == {k: v for k, v in FILES.items() if k.endswith(("a.jpg", "d.jpg"))}
    assert not (data / "train" / "999.Stray").exists()  # a class folder no more
    assert f"deleted {data / 'train/999.Stray/c.jpg'}: no longer in s3://{bucket}/data/" in (
        caplog.text
    )
    assert set(json.loads((data / MIRROR_RECORD).read_text())) == {
        "train/001.Affenpinscher/a.jpg",
        "valid/001.Affenpinscher/d.jpg",
    }


def test_the_mirror_fetches_again_what_changed(bucket, emulator, tmp_path):
    s3, data = client("s3", emulator), tmp_path / "data"
    download_prefix(f"s3://{bucket}/data/", data, client=s3)
    same_size = "train/001.Affenpinscher/a.jpg"
    s3.put_object(Bucket=bucket, Key=f"data/{same_size}", Body=b"A" * 10)  # a new ETag only
    (data / "valid/001.Affenpinscher/d.jpg").write_bytes(b"truncated")  # the copy changed
    (data / "train/999.Stray/c.jpg").unlink()  # the copy is gone
    assert download_prefix(f"s3://{bucket}/data/", data, client=s3) == Mirrored(3, 1, 0)
    assert tree(data) == {**FILES, same_size: b"A" * 10}

    (data / MIRROR_RECORD).unlink()  # a folder mirrored before the record existed
    assert download_prefix(f"s3://{bucket}/data/", data, client=s3) == Mirrored(4, 0, 0)


def test_an_interrupted_mirror_resumes_where_it_stopped(bucket, emulator, s3_faults, tmp_path):
    data = tmp_path / "data"
    # Keys are fetched in order: a.jpg, b.jpg, then c.jpg fails.
    s3_faults.fail("GET", r"/data/train/999\.Stray/c\.jpg$", 503, "SlowDown", times=1)
    with pytest.raises(ClientError, match="SlowDown"):
        download_prefix(f"s3://{bucket}/data/", data, client=through(s3_faults))
    assert set(json.loads((data / MIRROR_RECORD).read_text())) == {
        "train/001.Affenpinscher/a.jpg",
        "train/001.Affenpinscher/b.jpg",
    }
    again = download_prefix(f"s3://{bucket}/data/", data, client=client("s3", emulator))
    assert again == Mirrored(2, 2, 0)
    assert tree(data) == FILES


def test_the_mirror_deletes_nothing_when_s3_lists_nothing(bucket, emulator, tmp_path):
    data, s3 = tmp_path / "data", client("s3", emulator)
    download_prefix(f"s3://{bucket}/data/", data, client=s3)
    with pytest.raises(FileNotFoundError, match="no objects under"):
        download_prefix(f"s3://{bucket}/dat/", data, client=s3, delete=True)
    assert tree(data) == FILES


def test_a_prefix_without_its_slash_is_still_a_folder(bucket, emulator, tmp_path):
    s3 = client("s3", emulator)
    s3.put_object(Bucket=bucket, Key="database/dump.sql", Body=b"not data/")
    download_prefix(f"s3://{bucket}/data", tmp_path / "data", client=s3)
    assert tree(tmp_path / "data") == FILES  # no base/dump.sql


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda tmp: tmp / "no-such-folder", "no-such-folder: no such folder"),
        (lambda tmp: tmp / "empty", "empty holds no files"),
        (lambda tmp: tmp / "file.txt", "file.txt is not a folder"),
    ],
    ids=["missing", "empty", "a-file"],
)
def test_upload_dir_names_what_is_wrong_with_the_folder(bucket, tmp_path, capsys, make, said):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(SystemExit) as exited:
        s3_transfer.main(["upload-dir", str(make(tmp_path)), f"s3://{bucket}/up/"])
    assert exited.value.code == s3_transfer.USAGE
    assert said in capsys.readouterr().err


def test_a_local_failure_is_its_own_exit_status(bucket, tmp_path, caplog):
    """Not S3's fault, so neither 3 (retry) nor 5 (S3 refused): one line, exit 6."""
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way")
    with caplog.at_level(logging.ERROR, logger="ml.s3_transfer"):
        status = s3_transfer.main(["download", f"s3://{bucket}/data/", str(blocked / "data")])
    assert status == s3_transfer.LOCAL_FAILURE
    assert f"download s3://{bucket}/data/ failed here, not in S3:" in caplog.text
