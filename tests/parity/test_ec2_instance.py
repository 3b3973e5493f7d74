"""The EC2 instance's boot training on the Deep Learning AMI's PyTorch: ec2/train_on_boot.sh
run with that environment's interpreter as the instance's $PYTHON, and the model it uploads
served by the inference container's environment (trained on one torch, served on another)."""

from __future__ import annotations

import json
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from local_stack.demo.boot import run_train_on_boot
from local_stack.emulator import client
from ml.s3_transfer import upload_dir
from mlops.bundle import build_code_bundle
from tests.images import sample_image
from tests.parity.conftest import parity_python, run_driver, versions_of
from tests.training import TINY_TRAIN_ARGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_ami_environment_is_the_one_terraform_launches():
    versions = versions_of(parity_python("ec2"))
    assert versions["torch"].startswith("2.9.")


def test_boot_training_on_the_amis_torch_serves_in_the_container(
    emulator, sample_dataset, tmp_path
):
    bucket = f"parity-boot-{uuid.uuid4().hex[:8]}"
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=bucket)
    upload_dir(sample_dataset, f"s3://{bucket}/data/", client=s3)
    build_code_bundle(tmp_path / "c.tgz")
    with tarfile.open(tmp_path / "c.tgz") as bundle:
        bundle.extractall(tmp_path / "code", filter="data")
    result = run_train_on_boot(
        tmp_path / "code",
        tmp_path / "work",
        bucket,
        "parity",
        list(TINY_TRAIN_ARGS),
        extra_env={
            "PYTHON": str(parity_python("ec2")),
            "INSTANCE_ID": "i-0000000000000009",
            "OMP_NUM_THREADS": "2",
        },
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    archive = tmp_path / "model.tar.gz"
    s3.download_file(bucket, "models/parity/model.tar.gz", str(archive))

    image = sample_image(sample_dataset, "004.Akita")
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps([{"content_type": "image/jpeg", "body_file": str(image)}]))
    served = run_driver(parity_python("inference"), "serve_archive.py", str(archive), str(requests))
    (answer,) = served["answers"]
    assert answer["status"] == 200
    assert answer["body"]["predictions"][0]["breed"] == "Akita"
    here = run_driver(Path(sys.executable), "serve_archive.py", str(archive), str(requests))
    assert here["answers"][0]["body"]["predictions"][0]["breed"] == "Akita"
