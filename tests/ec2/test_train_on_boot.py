"""ec2/train_on_boot.sh, run as the instance runs it (from the extracted code bundle) against
the emulator: a deployable model lands in S3, a rerun is a no-op, a failure uploads its log."""

from __future__ import annotations

import hashlib
import json
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
        extra_env={"OMP_NUM_THREADS": "2", "INSTANCE_ID": instance_id, **env},
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


def test_s3_unreachable_at_the_success_check_stops_before_training(code_dir, bucket, tmp_path):
    """'S3 did not answer' is not 'the run is not finished': exit 75 for systemd to retry."""
    result = run_boot_script(
        code_dir,
        tmp_path / "work",
        bucket,
        "run-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS="1",
    )
    assert result.returncode == 75, result.stdout[-3000:]
    assert "cannot tell whether run run-1 has finished (S3 error)" in result.stdout
    assert "training with" not in result.stdout
    assert "stopping the instance" not in result.stdout


def test_an_upload_failing_midway_leaves_no_success_and_the_next_boot_finishes(
    emulator, code_dir, bucket, tmp_path
):
    s3 = client("s3", emulator)
    run_uri = f"arn:aws:s3:::{bucket}/models/run-upload/"
    deny_checksum = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{run_uri}model.tar.gz.sha256",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny_checksum))
    try:
        failed = run_boot_script(code_dir, tmp_path / "work", bucket, "run-upload")
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
    assert failed.returncode != 0, failed.stdout[-3000:]
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
