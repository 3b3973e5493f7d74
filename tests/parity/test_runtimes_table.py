"""terraform/runtimes.json: every runtime the stack deploys has a parity environment, Terraform
refuses the image tags that have none, and an environment is rebuilt only when its pins
change."""

from __future__ import annotations

import pytest

from local_stack import lean_install
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


@pytest.mark.parametrize("name", sorted(table.runtimes()["environments"]))
def test_each_environment_installs_from_a_current_lock_of_its_pins(name):
    environment = table.runtimes()["environments"][name]
    locked = table.locked_pins(name, environment)  # refused when written for other pins
    wanted = environment["packages"] + environment.get("test_packages", [])
    versions = {lean_install.name_of(pin): pin.split("==")[1] for pin in locked}
    for pin in wanted:
        requirement, version = pin.split("==")
        assert versions.get(lean_install.name_of(requirement.split("[")[0])) == version, pin
    assert not {lean_install.name_of(pin) for pin in locked} & lean_install.LEFT_OUT


def test_a_lock_older_than_its_pins_says_how_to_write_it_again():
    environment = table.runtimes()["environments"]["lambda-python3.12"]
    changed = {**environment, "packages": [*environment["packages"], "six==1.16.0"]}
    with pytest.raises(table.RuntimeEnvironmentError) as refused:
        table.locked_pins("lambda-python3.12", changed)
    assert "run python -m local_stack.parity lock lambda-python3.12" in str(refused.value)


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
