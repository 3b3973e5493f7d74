"""What the Terraform stack provides to jobs: bucket, training role, image, endpoint.

Each value comes from a flag when given, else from the stack's outputs: a saved
``terraform output -json`` file (``--terraform-outputs``) or, read on first need,
``terraform output -json`` run in ``--terraform-dir``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from mlops import JobsError
from mlops.inputs import parse_json, read_text

# Setting -> (flag, Terraform output).
SOURCES = {
    "bucket": ("--bucket", "bucket_name"),
    "role_arn": ("--role-arn", "sagemaker_training_role_arn"),
    "transform_role_arn": ("--transform-role-arn", "transform_role_arn"),
    "image_uri": ("--image-uri", "training_image_uri"),
    "endpoint_name": ("--endpoint-name", "endpoint_name"),
    "endpoint_config": ("--expect-config", "endpoint_config_name"),
    "model": ("--expect-model", "endpoint_model"),
    "model_package_group": ("--model-package-group", "model_package_group_name"),
    "inference_image_uri": ("--inference-image-uri", "inference_image_uri"),
    "region": ("--region", "region"),
    "monitor_function": ("--function", "model_monitor_function_name"),
}
# IAM role ARNs (IAM user guide, "IAM identifiers": role names and paths are ASCII), matched
# in full: a trailing newline is not part of an ARN.
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+", re.ASCII)
# S3 bucket naming rules (S3 user guide, "General purpose bucket naming rules").
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
STACK_FLAGS = "--bucket, --role-arn and --image-uri (or --terraform-outputs FILE)"


def no_stack(terraform_dir: Path, detail: str = "") -> JobsError:
    said = f"; terraform said: {detail}" if detail else ""
    return JobsError(
        f"no stack found in {terraform_dir}/ (run terraform init and terraform apply there, "
        f"or pass {STACK_FLAGS}){said}"
    )


def first_error_line(stderr: str) -> str:
    """The line after terraform's ``Error:`` marker, without colours or box drawing."""
    lines = [ANSI_ESCAPE.sub("", line).strip(" │╷╵\t") for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith("Error:")]
    return (errors or lines or [""])[0]


def read_terraform_outputs(terraform_dir: Path) -> dict[str, object]:
    binary = shutil.which("terraform")
    if binary is None:
        raise JobsError(
            f"terraform is not on PATH: install it, or pass the stack's values as flags "
            f"({STACK_FLAGS})"
        )
    if not Path(terraform_dir).is_dir():
        raise no_stack(terraform_dir)
    result = subprocess.run(
        [binary, f"-chdir={terraform_dir}", "output", "-json", "-no-color"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise no_stack(terraform_dir, first_error_line(result.stderr))
    source = f"terraform output in {terraform_dir}"
    outputs = _values(parse_json(result.stdout or "{}", source), source)
    if not outputs:
        raise no_stack(terraform_dir)
    return outputs


def read_outputs_file(path: Path) -> dict[str, object]:
    what = f"--terraform-outputs {path}"
    return _values(parse_json(read_text(path, "--terraform-outputs"), what), str(path))


def _values(outputs: object, source: str) -> dict[str, object]:
    if not isinstance(outputs, dict) or not all(
        isinstance(item, dict) and "value" in item for item in outputs.values()
    ):
        raise JobsError(f"{source}: expected the JSON that `terraform output -json` prints")
    return {name: item["value"] for name, item in outputs.items()}


class Stack:
    """The stack's values, from flags first and Terraform outputs second."""

    def __init__(
        self,
        flags: dict[str, str | None],
        terraform_dir: Path,
        outputs_file: Path | None = None,
    ):
        self.flags = flags
        self.terraform_dir = Path(terraform_dir)
        self.outputs_file = outputs_file
        self._outputs: dict[str, object] | None = None

    def outputs(self) -> dict[str, object]:
        if self._outputs is None:
            if self.outputs_file is not None:
                self._outputs = read_outputs_file(self.outputs_file)
            else:
                self._outputs = read_terraform_outputs(self.terraform_dir)
        return self._outputs

    def optional(self, setting: str) -> str | None:
        """The setting, or None where neither a flag nor the stack has it."""
        try:
            return self.get(setting)
        except JobsError:
            return None

    def optional_list(self, output: str) -> list[str]:
        """A list output, or [] where the stack has none (an older stack, or flags only)."""
        try:
            value = self.outputs().get(output)
        except JobsError:
            return []
        return [str(item) for item in value] if isinstance(value, list) else []

    def get(self, setting: str) -> str:
        flag, output = SOURCES[setting]
        value = self.flags.get(setting) or self.outputs().get(output)
        source = self.outputs_file or f"terraform output in {self.terraform_dir}"
        if not value:
            hint = (
                " (the endpoint exists once model_data_url is set and applied)"
                if setting in ("endpoint_name", "endpoint_config", "model")
                else " (has `terraform apply` run there?)"
            )
            raise JobsError(f"{output} is unknown: pass {flag}, or set it in {source}{hint}")
        if not isinstance(value, str):
            raise JobsError(f"{output} in {source} is not a string: pass {flag}")
        if setting.endswith("role_arn") and not ROLE_ARN.fullmatch(value):
            raise JobsError(f"{flag} {value!r} is not an IAM role ARN")
        if setting == "bucket" and not BUCKET_NAME.fullmatch(value):
            raise JobsError(
                f"{flag} {value!r} is not a bucket name: 3 to 63 lowercase letters, digits, dots "
                "and hyphens, without s3:// or a path"
            )
        return value
