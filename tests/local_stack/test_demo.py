"""`make demo` in its fast mode: the whole pipeline against the emulator, torn down after."""

import subprocess
import sys

import pytest

from local_stack.demo import STEPS
from local_stack.serve import running_torchserve
from tests.training import REPO_ROOT, python_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.terraform]


def test_demo_runs_end_to_end_and_names_the_breed(tmp_path, terraform_binary):
    assert running_torchserve() == [], "another TorchServe is running; the demo needs its own"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_stack.demo",
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
    for number, step in enumerate(STEPS, start=1):
        assert f"[{number}/{len(STEPS)}] {step.title}: done" in log
    assert "Top breeds for Alaskan_malamute_00000.jpg (true breed: Alaskan malamute):" in log
    top = log.split("(true breed: Alaskan malamute):")[1].splitlines()[1]
    assert "Alaskan malamute" in top
    assert "model s3://dog-breeds-demo-123456789012/models/demo/model.tar.gz)" in log
    assert "train_on_boot: run demo finished; model at" in log  # the boot script's own output
    assert "terraform destroy: done" in log
    assert running_torchserve() == [], "the demo left TorchServe running"


def test_a_missing_dataset_stops_the_demo_at_step_1_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_stack.demo",
            "--data",
            str(tmp_path / "no-such-dataset"),
            "--work-dir",
            str(tmp_path / "demo"),
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 1, log
    assert f"[1/{len(STEPS)}] {STEPS[0].title} FAILED" in log
    assert (
        f"the demo failed: dataset folder {tmp_path / 'no-such-dataset' / 'train'} does not exist"
        in log
    )
    assert f"[2/{len(STEPS)}]" not in log
    assert "Traceback" not in log
    assert "Traceback" in (tmp_path / "demo" / "demo.log").read_text()
