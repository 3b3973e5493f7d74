"""ec2/train_on_boot.sh, run as the instance runs it (from the extracted code bundle) against
the emulator: a deployable model lands in S3, a rerun is a no-op, a failure uploads its log,
S3 failing for now is exit 75 (systemd retries) and S3 refusing exit 1, fixing the data in S3
and booting again trains on the fixed data.

S3's errors come from ``S3FaultFront`` (tests/ec2/s3_faults.py): the script's AWS_ENDPOINT_URL
points at a front that answers chosen requests with S3's error documents and hands the rest to
the emulator. ``shutdown`` is a stub on PATH wherever STOP_AFTER_TRAINING is true: it records
that the script asked for it, and powers nothing off."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import threading
import uuid
from pathlib import Path

import pytest

from local_stack.demo.boot import run_train_on_boot
from local_stack.emulator import client
from ml import inference
from ml.s3_transfer import upload_dir
from tests.images import sample_image
from tests.training import REPO_ROOT, TINY_TRAIN_ARGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory) -> Path:
    """The code bundle built by `make package-code`, extracted as the instance does."""
    root = tmp_path_factory.mktemp("bundle")
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "build_code_bundle.py"),
            str(root / "code.tar.gz"),
        ],
        check=True,
        capture_output=True,
    )
    with tarfile.open(root / "code.tar.gz") as bundle:
        bundle.extractall(root / "code", filter="data")
    return root / "code"


@pytest.fixture(scope="module")
def bucket(emulator, sample_dataset) -> str:
    name = f"boot-{uuid.uuid4().hex[:10]}"
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=name)
    upload_dir(sample_dataset, f"s3://{name}/data/", client=s3)
    return name


def run_boot_script(
    code_dir: Path,
    work_dir: Path,
    bucket: str,
    run_id: str,
    data_prefix: str = "data/",
    instance_id: str = "i-0000000000000001",
    on_line=None,
    **env: str,
) -> subprocess.CompletedProcess:
    return run_train_on_boot(
        code_dir,
        work_dir,
        bucket,
        run_id,
        list(TINY_TRAIN_ARGS),
        data_prefix,
        # No int8 copy (the script's default) unless a test asks: the fixable-data test does.
        extra_env={"OMP_NUM_THREADS": "2", "INSTANCE_ID": instance_id, "PACKAGE_INT8": "false"}
        | env,
        timeout=600,
        on_line=on_line,
    )


def test_boot_training_leaves_a_deployable_model(
    emulator, code_dir, bucket, tmp_path, sample_dataset
):
    s3 = client("s3", emulator)
    uploaded_when_training_began = []

    def watch(line: str) -> None:
        # Output streams as it happens (the demo shows it live): when the training line
        # arrives, the model the script uploads at the end is not there yet.
        if "training with" in line:
            listing = s3.list_objects_v2(Bucket=bucket, Prefix="models/run-1/model.tar.gz")
            uploaded_when_training_began.append(listing["KeyCount"])

    result = run_boot_script(code_dir, tmp_path / "work", bucket, "run-1", on_line=watch)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert uploaded_when_training_began == [0]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="models/run-1/")["Contents"]}
    assert keys == {
        f"models/run-1/{name}"
        for name in (
            "model.tar.gz",
            "model.tar.gz.sha256",
            "metrics.json",
            "train.log",
            "_CLAIM",
            "_SUCCESS",
        )
    }

    archive = s3.get_object(Bucket=bucket, Key="models/run-1/model.tar.gz")["Body"].read()
    checksum = s3.get_object(Bucket=bucket, Key="models/run-1/model.tar.gz.sha256")["Body"].read()
    assert checksum.decode().split()[0] == hashlib.sha256(archive).hexdigest()
    marker = json.loads(s3.get_object(Bucket=bucket, Key="models/run-1/_SUCCESS")["Body"].read())
    assert marker["model"] == f"s3://{bucket}/models/run-1/model.tar.gz"

    (tmp_path / "model.tar.gz").write_bytes(archive)
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        tar.extractall(tmp_path / "model", filter="data")
    loaded = inference.model_fn(str(tmp_path / "model"))
    image = sample_image(sample_dataset, "002.Afghan_hound").read_bytes()
    prediction = inference.predict_fn(inference.input_fn(image, "image/jpeg"), loaded)
    assert prediction["predictions"][0]["breed"] == "Afghan hound"

    # A second boot finds _SUCCESS and does nothing.
    before = s3.head_object(Bucket=bucket, Key="models/run-1/_SUCCESS")["LastModified"]
    rerun = run_boot_script(code_dir, tmp_path / "work", bucket, "run-1")
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "already finished" in rerun.stdout
    assert "training with" not in rerun.stdout
    assert s3.head_object(Bucket=bucket, Key="models/run-1/_SUCCESS")["LastModified"] == before


def test_failed_boot_uploads_its_log_and_no_success(emulator, code_dir, bucket, tmp_path):
    result = run_boot_script(
        code_dir, tmp_path / "work", bucket, "run-broken", data_prefix="no-such-data/"
    )
    assert result.returncode != 0
    s3 = client("s3", emulator)
    keys = {
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="models/run-broken/")["Contents"]
    }
    assert keys == {"models/run-broken/train.log", "models/run-broken/_CLAIM"}
    log = s3.get_object(Bucket=bucket, Key="models/run-broken/train.log")["Body"].read().decode()
    assert "no objects under s3://" in log
    assert "FAILED with exit code" in log


def object_keys(s3, bucket: str, prefix: str) -> set[str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {item["Key"].removeprefix(prefix) for item in listing.get("Contents", [])}


def fake_shutdown(folder: Path) -> tuple[dict[str, str], Path]:
    """The environment that puts a recording ``shutdown`` first on PATH, and its record."""
    folder.mkdir(parents=True)
    calls = folder / "calls"
    stub = folder / "shutdown"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    stub.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}", "STOP_AFTER_TRAINING": "true"}, calls


@pytest.mark.parametrize(
    ("fault", "status", "said"),
    [
        (None, 75, "cannot tell whether run run-1 has finished (S3 error)"),
        ((503, "SlowDown"), 75, "cannot tell whether run run-1 has finished (S3 error)"),
        ((403, "AccessDenied"), 1, "S3 refused exists s3://"),
    ],
    ids=["unreachable", "throttled", "denied"],
)
def test_s3_failing_at_the_success_check_stops_before_training(
    code_dir, bucket, tmp_path, s3_faults, fault, status, said
):
    """'S3 did not answer' is not 'the run is not finished': exit 75 for systemd to retry;
    a refusal will not pass by itself: exit 1, the log naming it."""
    endpoint = "http://127.0.0.1:9"
    if fault is not None:
        s3_faults.fail("HEAD", r"/models/run-1/_SUCCESS$", *fault)
        endpoint = s3_faults.url
    stop, shutdowns = fake_shutdown(tmp_path / "bin")
    result = run_boot_script(
        code_dir,
        tmp_path / "work",
        bucket,
        "run-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_MAX_ATTEMPTS="1",
        **stop,
    )
    assert result.returncode == status, result.stdout[-3000:]
    assert said in result.stdout
    assert "training with" not in result.stdout
    assert "Traceback" not in result.stdout
    # 75: systemd tries again, the instance stays up; 1: stop_after_training stops it.
    assert shutdowns.exists() == (status == 1)


@pytest.mark.parametrize(("fault", "status"), [((503, "SlowDown"), 75), ((403, "AccessDenied"), 1)])
def test_s3_failing_to_give_the_data_is_retried_or_named(
    code_dir, bucket, tmp_path, s3_faults, emulator, fault, status
):
    run_id = f"run-data-{status}"
    s3_faults.fail("GET", r"^[^/]+/data/.", *fault)  # the objects under data/, not the listing
    stop, shutdowns = fake_shutdown(tmp_path / "bin")
    result = run_boot_script(
        code_dir,
        tmp_path / "work",
        bucket,
        run_id,
        AWS_ENDPOINT_URL=s3_faults.url,
        AWS_MAX_ATTEMPTS="1",
        **stop,
    )
    assert result.returncode == status, result.stdout[-3000:]
    assert "training with" not in result.stdout
    assert "Traceback" not in result.stdout
    uploaded = object_keys(client("s3", emulator), bucket, f"models/{run_id}/")
    if status == 75:
        assert f"S3 could not answer download s3://{bucket}/data/ now" in result.stdout
        assert "exiting 75 so that systemd tries again later" in result.stdout
        assert not shutdowns.exists()
        assert uploaded == {"_CLAIM"}  # the next try resumes the claimed run
    else:
        assert f"S3 refused download s3://{bucket}/data/" in result.stdout
        assert "AccessDenied" in result.stdout
        assert "FAILED with exit code 1" in result.stdout
        assert shutdowns.read_text().startswith("-h +1")
        assert uploaded == {"_CLAIM", "train.log"}


def test_an_upload_s3_throttles_midway_is_retried_and_the_next_boot_finishes(
    emulator, code_dir, bucket, tmp_path, s3_faults
):
    """S3 answering 503 SlowDown (on every one of boto3's tries) to an upload after training:
    exit 75, so systemd tries again, and the instance does not power off with the model
    unpublished, even with stop_after_training."""
    s3 = client("s3", emulator)
    s3_faults.fail("PUT", r"/models/run-upload/model\.tar\.gz\.sha256$", 503, "SlowDown")
    stop, shutdowns = fake_shutdown(tmp_path / "bin")
    failed = run_boot_script(
        code_dir,
        tmp_path / "work",
        bucket,
        "run-upload",
        AWS_ENDPOINT_URL=s3_faults.url,
        AWS_MAX_ATTEMPTS="2",
        **stop,
    )
    assert failed.returncode == 75, failed.stdout[-3000:]
    assert "S3 could not answer upload" in failed.stdout
    assert "SlowDown" in failed.stdout
    assert "Traceback" not in failed.stdout
    assert not shutdowns.exists()
    assert "_SUCCESS" not in object_keys(s3, bucket, "models/run-upload/")

    retried = run_boot_script(code_dir, tmp_path / "work", bucket, "run-upload")
    assert retried.returncode == 0, retried.stdout[-3000:]
    assert "claimed by this instance before: resuming it" in retried.stdout
    assert "holds all 3 epochs already: nothing left to train" in retried.stdout  # not redone
    assert {"_SUCCESS", "model.tar.gz", "model.tar.gz.sha256"} <= object_keys(
        s3, bucket, "models/run-upload/"
    )


def test_two_boots_at_once_train_once_and_the_finished_model_stays(
    emulator, code_dir, bucket, tmp_path
):
    s3 = client("s3", emulator)
    results: dict[str, subprocess.CompletedProcess] = {}

    def boot(instance_id: str) -> None:
        results[instance_id] = run_boot_script(
            code_dir, tmp_path / instance_id, bucket, "run-race", instance_id=instance_id
        )

    threads = [threading.Thread(target=boot, args=(i,)) for i in ("i-aaaa", "i-bbbb")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.returncode == 0 for r in results.values()), {
        i: r.stdout[-2000:] for i, r in results.items()
    }
    trained = [i for i, r in results.items() if "training with" in r.stdout]
    assert len(trained) == 1, {i: r.stdout[-2000:] for i, r in results.items()}
    (other,) = set(results) - set(trained)
    assert f"run run-race is claimed by {trained[0]}, not {other}" in results[other].stdout
    claim = s3.get_object(Bucket=bucket, Key="models/run-race/_CLAIM")["Body"].read().decode()
    assert claim.strip() == trained[0]

    # Later boots of either instance find the finished run and touch nothing.
    finished = s3.head_object(Bucket=bucket, Key="models/run-race/model.tar.gz")["ETag"]
    for instance_id in ("i-aaaa", "i-bbbb", "i-cccc"):
        again = run_boot_script(
            code_dir, tmp_path / instance_id, bucket, "run-race", instance_id=instance_id
        )
        assert "already finished" in again.stdout
    assert s3.head_object(Bucket=bucket, Key="models/run-race/model.tar.gz")["ETag"] == finished


def test_fixing_the_data_in_s3_and_booting_again_trains_on_the_fixed_data(
    emulator, code_dir, bucket, tmp_path, sample_dataset
):
    """The README's recovery from bad data: the first boot names the bad file before training;
    once the file and a stray class are deleted from S3, the next boot's mirror deletes them
    here too and the run trains and publishes. int8 packaging is on: an int8 model that agrees
    too little is left out with the reason in the log, never the run."""
    s3 = client("s3", emulator)
    upload_dir(sample_dataset, f"s3://{bucket}/data-fixable/", client=s3)
    bad = {
        "train/001.Affenpinscher/broken.jpg": b"this is not a jpeg",
        "train/999.Wolf/wolf.jpg": sample_image(sample_dataset, "004.Akita").read_bytes(),
    }
    for relative, content in bad.items():
        s3.put_object(Bucket=bucket, Key=f"data-fixable/{relative}", Body=content)
    work = tmp_path / "work"
    boot = {"data_prefix": "data-fixable/", "PACKAGE_INT8": "true"}

    failed = run_boot_script(code_dir, work, bucket, "run-fixed", **boot)
    assert failed.returncode == 2, failed.stdout[-3000:]
    named = f"corrupt or unreadable image {work / 'data' / 'train/001.Affenpinscher/broken.jpg'}"
    assert named in failed.stdout
    assert "training with" in failed.stdout
    assert "training images" not in failed.stdout  # stopped while checking the data
    assert "Traceback" not in failed.stdout

    for relative in bad:
        s3.delete_object(Bucket=bucket, Key=f"data-fixable/{relative}")
    fixed = run_boot_script(code_dir, work, bucket, "run-fixed", **boot)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    assert "0 fetched" in fixed.stdout
    assert "2 deleted" in fixed.stdout
    assert not (work / "data" / "train" / "999.Wolf").exists()
    archive = s3.get_object(Bucket=bucket, Key="models/run-fixed/model.tar.gz")["Body"].read()
    (tmp_path / "model.tar.gz").write_bytes(archive)
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        names = set(tar.getnames())
        classes = json.load(tar.extractfile("class_names.json"))
    assert "Wolf" not in classes
    assert len(classes) == 4
    # Either int8 agreed enough and ships, or it is left out and the log says why.
    left_out = "int8 model left out, the archive holds fp32 only" in fixed.stdout
    assert ("model_int8.pth" in names) != left_out, fixed.stdout[-3000:]
