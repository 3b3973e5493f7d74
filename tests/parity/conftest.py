"""The parity tier: the code that ships, run on the versions AWS runs it on.

Each runtime's environment comes from terraform/runtimes.json, chosen by what the stack
deploys by default (the image tags in terraform/variables.tf, the AMI parameter and Lambda
runtime of their modules); `make parity-envs` builds them. A missing one fails the tier with
that command, never a skip.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from local_stack.parity.runtimes import RuntimeEnvironmentError, environment_python, runtimes
from tests.training import REPO_ROOT, python_env

TERRAFORM = REPO_ROOT / "terraform"
DRIVERS = Path(__file__).parent / "drivers"


def default_of(path: Path, variable: str) -> str:
    block = re.search(rf'variable "{variable}" {{.*?\n}}\n', path.read_text(), re.DOTALL)
    return re.search(r'default\s*=\s*"([^"]+)"', block[0])[1]


def lambda_runtime() -> str:
    text = (TERRAFORM / "modules" / "lambda_invoker" / "main.tf").read_text()
    return re.search(r'runtime\s*=\s*"([^"]+)"', text)[1]


def deployed_runtimes() -> dict[str, str]:
    """Each runtime the stack deploys by default -> its parity environment."""
    table = runtimes()
    instance = TERRAFORM / "modules" / "training_instance" / "variables.tf"
    deployed = {
        "inference": (
            "inference_image_tags",
            default_of(TERRAFORM / "variables.tf", "inference_image_tag"),
        ),
        "training": (
            "training_image_tags",
            default_of(TERRAFORM / "variables.tf", "training_image_tag"),
        ),
        "ec2": ("ami_ssm_parameters", default_of(instance, "ami_ssm_parameter")),
        "lambda": ("lambda_runtimes", lambda_runtime()),
    }
    missing = [f"{kind}: {value}" for kind, value in deployed.values() if value not in table[kind]]
    if missing:
        raise RuntimeEnvironmentError(
            f"no parity environment for {', '.join(missing)}: add one to terraform/runtimes.json "
            "(its Python, framework and toolkit versions, with their source) and map it there"
        )
    return {runtime: table[kind][value] for runtime, (kind, value) in deployed.items()}


def parity_python(runtime: str) -> Path:
    try:
        return environment_python(deployed_runtimes()[runtime])
    except RuntimeEnvironmentError as error:
        pytest.fail(str(error))


def versions_of(python: Path) -> dict:
    result = subprocess.run(
        [
            str(python),
            "-c",
            "import json, platform, importlib.metadata as m; print(json.dumps({'python': "
            "platform.python_version(), 'torch': m.version('torch') if "
            "any(d.metadata['Name'] == 'torch' for d in m.distributions()) else None}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def run_driver(python: Path, driver: str, *args: str) -> dict:
    result = subprocess.run(
        [str(python), str(DRIVERS / driver), *args],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
