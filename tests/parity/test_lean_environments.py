"""The environments hold torch without what only a GPU runs (local_stack/lean_install.py): no
triton anywhere, and no cuDNN kernel libraries in the parity environments, whose torch still
loads and convolves on the CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local_stack import lean_install
from local_stack.parity.runtimes import environment_python, runtimes
from local_stack.paths import REPO_ROOT

pytestmark = pytest.mark.unit

TORCH_ENVIRONMENTS = sorted(
    name
    for name, environment in runtimes()["environments"].items()
    if any(pin.startswith("torch==") for pin in environment["packages"])
)
CONVOLVES = """
import importlib.util, torch
assert importlib.util.find_spec("triton") is None, "triton is installed"
out = torch.nn.Conv2d(3, 4, 3)(torch.zeros(1, 3, 8, 8))
print(tuple(out.shape))
"""


def report_item(name: str, version: str) -> dict:
    return {"metadata": {"name": name, "version": version}}


def test_the_install_set_is_pips_less_triton():
    report = {
        "install": [
            report_item("torch", "2.6.0"),
            report_item("Triton", "3.2.0"),
            report_item("nvidia-cudnn-cu12", "9.1.0.70"),
            report_item("typing_extensions", "4.16.0"),
        ]
    }
    assert lean_install.pins_to_install(report) == [
        "torch==2.6.0",
        "nvidia-cudnn-cu12==9.1.0.70",
        "typing_extensions==4.16.0",
    ]


def test_torch_and_the_cuda_wheels_install_apart_from_the_rest():
    pins = ["torch==2.6.0", "sympy==1.13.1", "nvidia-cublas-cu12==12.4.5.8", "Jinja2==3.1.6"]
    assert lean_install.light_and_heavy(pins) == (
        ["sympy==1.13.1", "Jinja2==3.1.6"],
        ["torch==2.6.0", "nvidia-cublas-cu12==12.4.5.8"],
    )
    assert lean_install.light_and_heavy(["torch==2.6.0"]) == ([], ["torch==2.6.0"])


def test_cudnn_keeps_its_loader_and_loses_its_kernels(tmp_path: Path):
    lib = tmp_path / "nvidia" / "cudnn" / "lib"
    lib.mkdir(parents=True)
    for name in ("libcudnn.so.9", "libcudnn_adv.so.9", "libcudnn_engines_precompiled.so.9"):
        (lib / name).write_bytes(b"x" * 10)
    assert lean_install.remove_cudnn_kernels(tmp_path) == 20
    assert sorted(path.name for path in lib.iterdir()) == ["libcudnn.so.9"]


def test_a_lock_serves_only_the_requirements_and_platform_it_was_written_for(
    tmp_path: Path, monkeypatch
):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch==2.14.1\n")
    lock = tmp_path / "requirements.lock"
    digest = lean_install.requirements_digest(["-r", str(requirements)])
    assert lean_install.read_lock(lock, digest) is None  # none written yet
    lean_install.write_lock(lock, digest, ["torch==2.14.1", "filelock==3.20.0"], ["-r", "x"])
    assert lean_install.read_lock(lock, digest) == ["filelock==3.20.0", "torch==2.14.1"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [lock.name, requirements.name]
    requirements.write_text("torch==2.14.1\npillow==12.0.0\n")
    changed = lean_install.requirements_digest(["-r", str(requirements)])
    assert lean_install.read_lock(lock, changed) is None
    monkeypatch.setattr(lean_install.platform, "machine", lambda: "arm64")
    assert lean_install.requirements_digest(["-r", str(requirements)]) != changed


def test_the_committed_lock_is_requirements_txts_and_keeps_its_pins():
    """make setup installs .venv from requirements.lock without resolving: it must be the
    lock of requirements.txt as committed, every pin there at its version."""
    requirements = REPO_ROOT / "requirements.txt"
    digest = lean_install.requirements_digest(["-r", str(requirements)])
    locked = lean_install.read_lock(REPO_ROOT / "requirements.lock", digest)
    assert locked is not None, "requirements.lock is stale: run make setup and commit it"
    versions = {lean_install.name_of(pin): pin.split("==", 1)[1] for pin in locked}
    for line in requirements.read_text().splitlines():
        pin = line.split("#", 1)[0].strip()
        if pin:
            name, version = pin.split("==", 1)
            assert versions[lean_install.name_of(name.split("[", 1)[0])] == version, pin


def test_the_project_environment_has_no_triton():
    result = subprocess.run([sys.executable, "-c", CONVOLVES], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 4, 6, 6)"


@pytest.mark.parametrize("name", TORCH_ENVIRONMENTS)
def test_a_parity_environment_convolves_without_gpu_parts(name):
    python = str(environment_python(name))
    result = subprocess.run([python, "-c", CONVOLVES], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 4, 6, 6)"
    site_packages = lean_install.site_packages(python)
    assert (site_packages / "nvidia" / "cudnn" / "lib" / "libcudnn.so.9").exists()
    assert not list(site_packages.glob(lean_install.CUDNN_KERNEL_LIBRARIES))
