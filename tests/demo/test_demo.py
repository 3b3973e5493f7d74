"""`make demo` in its fast mode: the whole pipeline against the emulator, torn down after."""

import subprocess
import sys

import pytest

from ml.serve import running_torchserve
from tests.training import REPO_ROOT, python_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.terraform]


def test_demo_runs_end_to_end_and_names_the_breed(tmp_path, terraform_binary):
    assert running_torchserve() == [], "another TorchServe is running; the demo needs its own"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "demo.py"),
            "--fast",
            "--work-dir",
            str(tmp_path / "demo"),
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    for step in range(1, 10):
        assert f"[{step}/9]" in log
    assert "Top breeds for Alaskan_malamute_00000.jpg (true breed: Alaskan malamute):" in log
    top = log.split("(true breed: Alaskan malamute):")[1].splitlines()[1]
    assert "Alaskan malamute" in top
    assert "model s3://dog-breeds-demo-123456789012/models/demo/model.tar.gz)" in log
    assert "terraform destroy: done" in log
    assert running_torchserve() == [], "the demo left TorchServe running"
