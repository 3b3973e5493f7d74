"""The scripts the modules render (EC2 user data, the notebook's on-start script) are valid:
rendered by Terraform's own templatefile, then parsed by bash, and the programs they write out
(the training launcher, the idle-stop script) parsed too: by bash, and by Python 3.7, the
oldest Python that may run the idle stop on a notebook instance."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from local_stack.demo.terraform import Terraform
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform]

MODULES = REPO_ROOT / "terraform" / "modules"


def render(module: str, template: str, variables: dict, scratch: Path) -> str:
    """templatefile() evaluated by `terraform console` over a copy of the module's templates
    (a folder without configuration needs no init)."""
    shutil.copytree(MODULES / module / "templates", scratch / "templates")
    expression = f'templatefile("templates/{template}", {json.dumps(variables)})'
    return json.loads(json.loads(Terraform(scratch).console(f"jsonencode({expression})")))


def heredoc(script: str, marker: str) -> str:
    match = re.search(rf"<<'{marker}'\n(.*?)\n{marker}\n", script, re.DOTALL)
    assert match, f"no {marker} heredoc"
    return match.group(1)


def bash_parses(script: str) -> None:
    result = subprocess.run(
        ["bash", "-n"], input=script, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stop_after_training", [True, False])
def test_the_training_user_data_and_its_launcher_are_valid_bash(
    terraform_binary, stop_after_training, tmp_path
):
    script = render(
        "training_instance",
        "user_data.sh.tftpl",
        {
            "bucket": "dog-breeds-123456789012",
            "data_prefix": "data/",
            "code_prefix": "code/",
            "models_prefix": "models/",
            "run_id": "ec2-initial",
            "hyperparameters": "--epochs 5 --arch resnet50",
            "stop_after_training": stop_after_training,
            "package_int8": False,
        },
        tmp_path,
    )
    bash_parses(script)
    launcher = heredoc(script, "LAUNCHER")
    bash_parses(launcher)
    assert 'aws s3 cp --only-show-errors "s3://$BUCKET/${CODE_PREFIX}code.tar.gz"' in launcher


@pytest.mark.parametrize("idle_minutes", [60, 0])
def test_the_notebook_on_start_script_and_its_idle_stop_are_valid(
    terraform_binary, idle_minutes, tmp_path
):
    autostop = (MODULES / "notebook_instance" / "templates" / "autostop.py").read_text()
    script = render(
        "notebook_instance",
        "on_start.sh.tftpl",
        {"autostop_py": autostop, "idle_minutes": idle_minutes},
        tmp_path,
    )
    bash_parses(script)
    assert heredoc(script, "AUTOSTOP") == autostop
    ast.parse(autostop, feature_version=(3, 7))
    assert ("*/5 * * * * root" in script) is (idle_minutes > 0)
