"""``make local-stack`` and ``make local-destroy``: terraform/ applied to the emulator that
``make emulator`` runs, with the checked-in terraform/emulator.tfvars.

    python -m local_stack.demo.stack apply      # make local-stack
    python -m local_stack.demo.stack destroy    # make local-destroy

The workspace (a copy of terraform/, its state and the .auto.tfvars files a user adds, such as
the one ``python -m mlops deploy --tfvars`` writes) lives in build/local-stack (``--workspace``)
and survives each apply; destroy first empties what the stack owns and Terraform cannot
delete (the model registry's versions), then removes the workspace.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from local_stack.demo.terraform import Terraform, TerraformError, make_workspace
from local_stack.emulator import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    SHIM_NAMES,
    Emulator,
    EmulatorError,
    answers_like_aws,
    client,
    client_factory,
    local_address,
)
from local_stack.paths import REPO_ROOT

logger = logging.getLogger("local_stack.demo.stack")

WORKSPACE = REPO_ROOT / "build" / "local-stack"  # LOCAL_STACK_DIR=... (--workspace) another
# What an apply keeps of the previous workspace: the state, the providers, the user's tfvars.
KEPT = ("terraform.tfstate", "terraform.tfstate.backup", ".terraform", ".terraform.lock.hcl")


def running_emulator() -> Emulator:
    """The emulator at LOCALSTACK_ENDPOINT (default 127.0.0.1:4566), which must be running:
    a stack applied to an emulator that ends with this command would be gone with it."""
    url = os.environ.get("LOCALSTACK_ENDPOINT") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    if not answers_like_aws(url.rstrip("/")):
        raise EmulatorError(
            f"no AWS emulator answers at {url}: start one in another terminal (make emulator), "
            "or point LOCALSTACK_ENDPOINT at yours"
        )
    emulator = Emulator(endpoint_url=url.rstrip("/"))
    emulator.require(SHIM_NAMES, "the stack's terraform apply", client_factory(emulator))
    return emulator


def refresh_workspace(workspace: Path) -> Path:
    """A fresh copy of terraform/ in ``workspace``, with what an earlier apply left there that
    must stay (its state, providers and the user's *.auto.tfvars); the root module's folder."""
    root = workspace / "terraform"
    workspace.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workspace.parent) as keep:  # same disk: moves
        kept = [path for path in root.glob("*") if kept_across_applies(path.name)]
        for path in kept:
            shutil.move(path, Path(keep) / path.name)
        shutil.rmtree(workspace, ignore_errors=True)
        make_workspace(workspace)
        for path in kept:
            shutil.move(Path(keep) / path.name, root / path.name)
    return root


def kept_across_applies(name: str) -> bool:
    user_tfvars = name.endswith(".auto.tfvars") and name != "emulator.auto.tfvars"
    return name in KEPT or user_tfvars


def terraform_for(emulator: Emulator, root: Path) -> Terraform:
    terraform = Terraform(root)
    terraform.use_emulator(emulator)
    terraform.progress = lambda line: logger.info("    %s", line)
    return terraform


def apply(emulator: Emulator, workspace: Path = WORKSPACE) -> dict[str, object]:
    terraform = terraform_for(emulator, refresh_workspace(workspace))
    terraform.init()
    logger.info("terraform apply in %s (a minute or two) ...", terraform.workdir)
    terraform.apply()
    name = terraform.console("var.name").strip().strip('"')
    outputs = terraform.outputs()
    logger.info("%s", banner(emulator, terraform.workdir, name, outputs))
    return outputs


def banner(emulator: Emulator, root: Path, name: str, outputs: dict) -> str:
    lines = [
        f"stack {name} applied to the emulator at {emulator.endpoint_url}; point the operator "
        f"CLI at it:",
        cli_pointer(emulator, root, name),
    ]
    if outputs.get("lambda_alias_arn"):
        lines.append(
            f"the endpoint's model and the Lambda run here (local mode): invoke "
            f"{outputs['lambda_alias_arn']} with boto3 (README.md, Local addresses)"
        )
    if outputs.get("http_api_id"):
        url = f"{local_address(emulator.endpoint_url, outputs['http_api_id'])}/classify"
        lines.append(
            f"POST /classify: curl --data-binary @dog.jpg -H 'Content-Type: image/jpeg' {url}"
        )
    lines.append("remove it with: make local-destroy")
    return "\n".join(lines)


def cli_pointer(emulator: Emulator, root: Path, name: str) -> str:
    """The lines that point ``python -m mlops`` at a stack on the emulator: the exports, and a
    first command with the stack's --terraform-dir and --prefix."""
    exports = " ".join(f"{key}={value}" for key, value in emulator.environment().items())
    return (
        f"    export {exports}\n"
        f"    .venv/bin/python -m mlops status --terraform-dir {root} --prefix {name}"
    )


def destroy(emulator: Emulator, workspace: Path = WORKSPACE) -> None:
    root = workspace / "terraform"
    if not (root / "terraform.tfstate").is_file():
        logger.info("no local stack in %s: nothing to destroy", workspace)
        return
    terraform = terraform_for(emulator, refresh_workspace(workspace))
    terraform.init()
    group = terraform.outputs().get("model_package_group_name")
    if group:
        delete_versions(client("sagemaker", emulator), str(group))
    logger.info("terraform destroy in %s ...", root)
    terraform.destroy()
    shutil.rmtree(workspace)
    logger.info("the local stack is gone, and %s with it", workspace)


def delete_versions(sagemaker, group: str) -> None:
    """The registry's versions: Terraform deletes a model package group only when empty, and
    the versions are the operator's (python -m mlops register), not Terraform's."""
    pages = sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
    for page in pages:
        for version in page["ModelPackageSummaryList"]:
            sagemaker.delete_model_package(ModelPackageName=version["ModelPackageArn"])
            logger.info("deleted %s", version["ModelPackageArn"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.demo.stack", description=__doc__)
    parser.add_argument("command", choices=["apply", "destroy"])
    parser.add_argument(
        "--workspace",
        type=Path,
        default=WORKSPACE,
        help=f"the stack's copy of terraform/ and its state (default: {WORKSPACE})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        emulator = running_emulator()
        if args.command == "apply":
            apply(emulator, args.workspace.resolve())
        else:
            destroy(emulator, args.workspace.resolve())
    except (EmulatorError, TerraformError) as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
