"""Drive the real terraform binary offline and against the emulator (tests and the demo).

Offline provider installation comes from the CLI config that the Makefile generates and
exports as ``TF_CLI_CONFIG_FILE`` (see ``TF_PLUGIN_MIRROR`` in the Makefile). The emulator's
provider settings (and, unless a run keeps its state in the emulator's S3, a local backend in
place of the root's S3 one) live only in a generated ``*_override.tf`` file written into a
scratch copy of the configuration (``make_workspace``), so the committed configuration stays
the one real users apply and no .terraform/ folder, lock file or state lands in the
repository.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from local_stack.emulator import TEST_CREDENTIALS, Emulator
from local_stack.paths import REPO_ROOT

logger = logging.getLogger(__name__)

MODULES = sorted(p.name for p in (REPO_ROOT / "terraform" / "modules").iterdir() if p.is_dir())
# The root module's variables on the emulator, each for a gap of the emulator's (checked in:
# what a run on the emulator sets is there to read, not hidden in -var flags).
EMULATOR_TFVARS = REPO_ROOT / "terraform" / "emulator.tfvars"

# Every service the stack touches, by the provider's `endpoints` argument name.
EMULATED_SERVICES = (
    "apigatewayv2",
    "applicationautoscaling",
    "cloudwatch",
    "ec2",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sagemaker",
    "sns",
    "ssm",
    "sts",
)


def emulator_provider_override(emulator: Emulator) -> str:
    """HCL for a provider override that sends every call to the emulator. The provider asks
    the emulator for the account (STS GetCallerIdentity), as it asks AWS: ARNs it builds
    itself (an HTTP API's execution ARN in a Lambda permission) then name it, as on AWS."""
    endpoints = "\n".join(
        f'    {service} = "{emulator.endpoint_url}"' for service in EMULATED_SERVICES
    )
    return f"""# Generated for the AWS emulator; never committed (see .gitignore).
provider "aws" {{
  region                      = "{emulator.region}"
  access_key                  = "{TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"]}"
  secret_key                  = "{TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


# The root module keeps its state in S3 (terraform/backend.tf); a run that names no state
# bucket keeps it in the workspace, as the README's STATE=local does.
LOCAL_STATE = """
terraform {
  backend "local" {}
}
"""


def emulator_backend_config(emulator: Emulator, bucket: str, key: str) -> str:
    """A backend.hcl as the README's, for a state bucket in the emulator: the same bucket, key
    and region a team writes, plus what reaching the emulator takes."""
    return f"""bucket = "{bucket}"
key    = "{key}"
region = "{emulator.region}"

endpoints = {{ s3 = "{emulator.endpoint_url}" }}
use_path_style              = true
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
"""


# apply's and destroy's lines that say how far they are.
PROGRESS = re.compile(
    r": (Creation|Destruction|Modifications) complete|: Still (creating|destroying|modifying)"
    r"|^(Apply|Destroy) complete"
)


class TerraformError(RuntimeError):
    pass


class Terraform:
    """A terraform working directory and the commands tests run in it."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None):
        binary = shutil.which("terraform")
        if binary is None:
            raise FileNotFoundError("terraform is not on PATH")
        self.binary = binary
        self.workdir = Path(workdir)
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **(env or {})}
        self.init_args: list[str] = []
        # Called with each progress line of apply and destroy (a resource done, still being
        # made), as they come; None keeps the output until the command ends.
        self.progress: Callable[[str], None] | None = None

    def use_emulator(self, emulator: Emulator, state: tuple[str, str] | None = None) -> None:
        """Every provider call to the emulator, with the root module's emulator variables
        (terraform/emulator.tfvars); the state in the emulator's S3 bucket and key ``state``
        (through the root module's S3 backend), else in the workspace."""
        override = emulator_provider_override(emulator)
        if state is None:
            override += LOCAL_STATE
        else:
            config = self.workdir / "emulator_backend.hcl"
            config.write_text(emulator_backend_config(emulator, *state))
            self.init_args = [f"-backend-config={config.name}"]
        (self.workdir / "emulator_override.tf").write_text(override)
        if (self.workdir / EMULATOR_TFVARS.name).is_file():
            # A copy of the root module: its emulator variables, loaded by the file's name
            # (a -var still wins over them).
            tfvars = self.workdir / EMULATOR_TFVARS.name
            shutil.copyfile(tfvars, self.workdir / "emulator.auto.tfvars")
        # The provider reads credentials from the environment too; never let real ones leak in.
        self.env.update(emulator.environment())
        self.env.pop("AWS_PROFILE", None)

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        command = [self.binary, *args]
        logger.info("terraform %s (in %s)", " ".join(args), self.workdir)
        if self.progress is None:
            result = self._captured(command, timeout)
        else:
            result = self._run_streaming(command, timeout)
        if result.returncode != 0:
            raise TerraformError(
                f"terraform {' '.join(args)} failed with exit code {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
            )
        return result

    def console(self, expression: str, *args: str, timeout: float = 120) -> str:
        """What ``terraform console`` prints for ``expression`` (``args``: its options, such
        as ``-var-file=``); a folder of variable declarations or templates needs no init."""
        result = self._captured([self.binary, "console", *args], timeout, f"{expression}\n")
        if result.returncode != 0:
            raise TerraformError(f"terraform console failed on {expression}:\n{result.stderr}")
        return result.stdout

    def _captured(
        self, command: list[str], timeout: float, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        """``command`` in the working folder with this run's environment, its output kept."""
        return subprocess.run(
            command,
            input=stdin,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _run_streaming(self, command: list[str], timeout: float) -> subprocess.CompletedProcess:
        """``command``, its progress lines handed to ``self.progress`` as they are printed."""
        output, errors = [], []
        with subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            timer = threading.Timer(timeout, process.kill)
            timer.start()
            reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
            reader.start()
            for line in process.stdout:
                output.append(line)
                if PROGRESS.search(line):
                    self.progress(line.strip())
            process.wait()
            timer.cancel()
            reader.join()
        return subprocess.CompletedProcess(
            command, process.returncode, "".join(output), "".join(errors)
        )

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color", *self.init_args)

    def validate(self) -> None:
        self.run("validate", "-no-color")

    def apply(self, variables: dict[str, object] | None = None) -> None:
        self.run("apply", "-auto-approve", "-input=false", "-no-color", *var_flags(variables))

    def destroy(self, variables: dict[str, object] | None = None) -> None:
        self.run("destroy", "-auto-approve", "-input=false", "-no-color", *var_flags(variables))

    def drift(self, *plan_args: str) -> dict[str, set[str]]:
        """What a plan with ``plan_args`` would change: the attributes (the ones forcing
        replacement, else the ones updated) by resource address; {} for "No changes"."""
        self.run("plan", "-input=false", "-no-color", "-out=drift.tfplan", *plan_args)
        plan = json.loads(self.run("show", "-json", "drift.tfplan").stdout)
        drift = {}
        for change in plan["resource_changes"]:
            if change["change"]["actions"] in (["no-op"], ["read"]):
                continue
            before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
            replaced = {path[0] for path in change["change"].get("replace_paths") or []}
            updated = {
                key
                for key in after
                if key in before
                and before[key] != after[key]
                and change["change"]["after_unknown"].get(key) is not True
            }
            drift[change["address"]] = replaced or updated
        return drift

    def outputs(self) -> dict[str, object]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: item["value"] for name, item in raw.items()}

    def state_resources(self) -> list[str]:
        result = self.run("state", "list")
        return [line for line in result.stdout.splitlines() if line.strip()]


def var_flags(variables: dict[str, object] | None) -> list[str]:
    flags = []
    for name, value in (variables or {}).items():
        rendered = value if isinstance(value, str) else json.dumps(value)
        flags += ["-var", f"{name}={rendered}"]
    return flags


def build_artifacts(build_dir: Path) -> None:
    """The Lambda zip and the code bundle, as `make package-lambda package-code` builds them."""
    scripts = REPO_ROOT / "scripts"
    for command in (
        [scripts / "build_lambda_zip.py", REPO_ROOT / "lambda", build_dir / "lambda.zip"],
        [scripts / "build_code_bundle.py", build_dir / "code.tar.gz"],
    ):
        subprocess.run(
            [sys.executable, *map(str, command)], check=True, capture_output=True, text=True
        )


def make_workspace(root: Path) -> Path:
    """Copy terraform/ into ``root`` and build the artifacts it reads into ``root/build``;
    returns the copy's root module folder."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "*_override.tf", "backend.hcl")
    shutil.copytree(REPO_ROOT / "terraform", root / "terraform", ignore=ignore)
    build_artifacts(root / "build")
    return root / "terraform"
