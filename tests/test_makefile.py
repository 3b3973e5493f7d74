"""The Makefile's own behaviour that the README promises: help without colours when piped, an
offline `make tf-init` that works from a fresh checkout (and says what remote state needs),
and a Terraform CLI config that follows TF_PLUGIN_MIRROR."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.training import REPO_ROOT


def make(
    *args: str, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.unit
def test_help_lists_the_targets_without_colours_when_piped():
    result = make("help")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    for target in ("demo", "test", "deploy", "tf-init", "serve", "ui"):
        assert f"  {target} " in result.stdout, target


@pytest.mark.unit
def test_the_terraform_cli_config_follows_the_mirror_setting(tmp_path):
    config = tmp_path / "terraform.rc"
    first = make("tf-config", f"BUILD={tmp_path}", "TF_PLUGIN_MIRROR=/mirrors/one")
    assert first.returncode == 0, first.stderr
    assert 'path    = "/mirrors/one"' in config.read_text()
    assert "from the mirror at /mirrors/one" in first.stdout
    again = make("tf-config", f"BUILD={tmp_path}", "TF_PLUGIN_MIRROR=/mirrors/one")
    assert again.stdout == ""  # unchanged: nothing rewritten, nothing said
    moved = make("tf-config", f"BUILD={tmp_path}", "TF_PLUGIN_MIRROR=/mirrors/two")
    assert 'path    = "/mirrors/two"' in config.read_text()
    assert "from the mirror at /mirrors/two" in moved.stdout


@pytest.mark.terraform
def test_tf_init_works_offline_from_a_fresh_checkout(tmp_path, terraform_binary):
    shutil.copy2(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(
        REPO_ROOT / "terraform",
        tmp_path / "terraform",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*_override.tf"),
    )
    result = make("tf-init", "STATE=local", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Terraform has been successfully initialized" in result.stdout
    assert "\x1b[" not in result.stdout
    assert 'backend "local"' in (tmp_path / "terraform" / "local_state_override.tf").read_text()


@pytest.mark.unit
def test_tf_init_without_a_backend_file_says_how_to_get_one(tmp_path):
    shutil.copy2(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "terraform").mkdir()
    result = make("tf-init", "TF_PLUGIN_MIRROR=", cwd=tmp_path)
    assert result.returncode == 2
    assert "terraform/backend.hcl is missing" in result.stderr
    assert "backend.hcl.example" in result.stderr
    assert "make tf-init STATE=local" in result.stderr
    wrong = make("tf-init", "STATE=dynamodb", "TF_PLUGIN_MIRROR=", cwd=tmp_path)
    assert wrong.returncode == 2
    assert "STATE must be s3 (terraform/backend.hcl) or local, not 'dynamodb'" in wrong.stderr


@pytest.mark.unit
def test_terraform_run_by_make_collects_garbage_less_often_unless_the_user_says(tmp_path):
    """GOGC=400 for every terraform a make target runs (bench.terraform_gc: a quarter less
    CPU for the provider's start-ups); a GOGC of the user's own is kept."""
    shutil.copy2(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "terraform").mkdir()
    (tmp_path / "bin").mkdir()
    seen = tmp_path / "gogc-seen"
    fake_terraform = tmp_path / "bin" / "terraform"
    fake_terraform.write_text(f'#!/bin/sh\necho "$GOGC" >> {seen}\n')
    fake_terraform.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GOGC", None)  # make test exports it to the tests
    for user_setting in (None, "100"):
        if user_setting:
            env["GOGC"] = user_setting
        result = make("tf-init", "STATE=local", "TF_PLUGIN_MIRROR=", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert seen.read_text().split() == ["400", "100"]


@pytest.mark.unit
def test_the_demo_sets_up_only_what_it_runs(tmp_path):
    """make demo on a fresh clone builds the project's environment and nothing only the tests
    use: no parity environments, no IaC scanner, no browser (a dry run, nothing installed)."""
    result = make("-n", "demo", f"VENV={tmp_path / 'venv'}", f"VENV_IAC={tmp_path / 'iac'}")
    assert result.returncode == 0, result.stderr
    planned = result.stdout
    assert "-m local_stack.lean_install" in planned
    install = next(line for line in planned.splitlines() if "-r requirements.txt" in line)
    assert "--quiet" not in install  # minutes of pip: each package said as it comes
    assert "-m local_stack.demo" in planned
    for unwanted in ("local_stack.parity", "requirements-iac.txt", "apt-get", "chromium"):
        assert unwanted not in planned, unwanted
