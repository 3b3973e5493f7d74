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
    assert "(endpoint dog-breeds-demo, model models/demo)" in log  # a label, no account id
    assert "train_on_boot: run demo finished; model at" in log  # the boot script's own output
    assert "terraform destroy: done" in log
    assert running_torchserve() == [], "the demo left TorchServe running"


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "local_stack.demo", *args],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_missing_dataset_stops_the_demo_before_it_starts_in_one_line(tmp_path):
    missing = tmp_path / "no-such-dataset"
    result = run_demo("--data", str(missing), "--work-dir", str(tmp_path / "demo"))
    log = result.stdout + result.stderr
    assert result.returncode == 1, log
    assert log.strip() == f"the demo cannot start: DATA {missing} does not exist or is not a folder"
    assert not (tmp_path / "demo").exists(), "nothing may be created or emptied"


def test_a_work_dir_the_demo_did_not_make_is_never_emptied(tmp_path):
    work_dir = tmp_path / "mine"
    work_dir.mkdir()
    (work_dir / "notes.txt").write_text("keep me")
    result = run_demo("--work-dir", str(work_dir))
    assert result.returncode == 1
    assert (
        "is not empty and was not made by the demo: choose another" in result.stdout + result.stderr
    )
    assert (work_dir / "notes.txt").read_text() == "keep me"
