"""terraform/runtimes.json: every runtime the stack deploys has a parity environment, Terraform
refuses the image tags that have none, and an environment is rebuilt only when its pins
change."""

from __future__ import annotations

import pytest

from local_stack.parity import runtimes as table
from tests.parity.conftest import deployed_runtimes

pytestmark = pytest.mark.unit


def test_every_deployed_runtime_has_an_environment():
    environments = table.runtimes()["environments"]
    assert set(deployed_runtimes()) == {"inference", "training", "ec2", "lambda"}
    assert set(deployed_runtimes().values()) <= set(environments)


def test_every_tag_maps_to_an_environment_with_its_sources():
    runtimes = table.runtimes()
    for kind in ("inference_image_tags", "training_image_tags", "ami_ssm_parameters"):
        assert set(runtimes[kind].values()) <= set(runtimes["environments"]), kind
    for name, environment in runtimes["environments"].items():
        assert environment["sources"], f"{name}: say where its versions come from"
        assert all("==" in pin for pin in environment["packages"]), f"{name}: pin every package"


def test_an_environment_is_current_until_its_pins_change(tmp_path, monkeypatch):
    monkeypatch.setenv("PARITY_VENVS", str(tmp_path))
    environment = {"python": "3.12", "packages": ["boto3==1.44.5"]}
    (tmp_path / "lambda").mkdir()
    (tmp_path / "lambda" / table.STAMP).write_text(table.pins_of(environment))
    assert table.build("lambda", environment) is False  # nothing to install
    changed = {**environment, "packages": ["boto3==1.44.6"]}
    assert table.pins_of(changed) != table.pins_of(environment)
    assert table.pins_of({**environment, "python": "3.13"}) != table.pins_of(environment)


def test_a_missing_environment_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PARITY_VENVS", str(tmp_path))
    with pytest.raises(table.RuntimeEnvironmentError, match="run make parity-envs"):
        table.environment_python("lambda-python3.12")


def test_a_deployed_runtime_without_an_environment_says_how_to_add_one(monkeypatch):
    import tests.parity.conftest as parity

    without_lambda = {**table.runtimes(), "lambda_runtimes": {}}
    monkeypatch.setattr(parity, "runtimes", lambda: without_lambda)
    with pytest.raises(table.RuntimeEnvironmentError) as refused:
        parity.deployed_runtimes()
    assert "no parity environment for lambda_runtimes: python3.12" in str(refused.value)
    assert "add one to terraform/runtimes.json" in str(refused.value)
