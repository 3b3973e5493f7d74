"""ec2/train_on_boot.sh, run as the instance runs it (from the extracted code bundle) against
the emulator: a deployable model lands in S3, a rerun is a no-op, a failure uploads its log."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from local_stack.aws import client
from local_stack.boot import run_train_on_boot
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
    code_dir: Path, work_dir: Path, bucket: str, run_id: str, data_prefix: str = "data/"
) -> subprocess.CompletedProcess:
    return run_train_on_boot(
        code_dir,
        work_dir,
        bucket,
        run_id,
        list(TINY_TRAIN_ARGS),
        data_prefix,
        extra_env={"OMP_NUM_THREADS": "2"},
        timeout=600,
    )


def test_boot_training_leaves_a_deployable_model(
    emulator, code_dir, bucket, tmp_path, sample_dataset
):
    result = run_boot_script(code_dir, tmp_path / "work", bucket, "run-1")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    s3 = client("s3", emulator)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="models/run-1/")["Contents"]}
    assert keys == {
        f"models/run-1/{name}"
        for name in ("model.tar.gz", "model.tar.gz.sha256", "metrics.json", "train.log", "_SUCCESS")
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
    assert keys == {"models/run-broken/train.log"}
    log = s3.get_object(Bucket=bucket, Key="models/run-broken/train.log")["Body"].read().decode()
    assert "no objects under s3://" in log
    assert "FAILED with exit code" in log
