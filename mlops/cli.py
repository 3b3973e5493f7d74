"""Command line of ``python -m mlops``; see the package docstring and README for the workflow."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from mlops import JobsError, deploy, jobs, monitor, registry, shadow, status, transform, verify
from mlops.aws import Aws, resolve_region
from mlops.stack import Stack

logger = logging.getLogger("mlops")

DEFAULT_PREFIX = "dog-breeds"


def common_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="start of every name this creates: PREFIX-KIND-yymmdd-HHMMSS "
        f"(default: {DEFAULT_PREFIX})",
    )
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument(
        "--terraform-dir",
        type=Path,
        default=Path("terraform"),
        help="where `terraform output -json` runs to find the stack (default: terraform)",
    )
    parser.add_argument(
        "--terraform-outputs",
        type=Path,
        metavar="FILE",
        help="saved `terraform output -json`, instead of running terraform",
    )
    parser.add_argument("--bucket", help="data bucket (default: output bucket_name)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log AWS calls")
    return parser


def job_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--role-arn", help="training role (default: sagemaker_training_role_arn)")
    parser.add_argument(
        "--image-uri", help="PyTorch training image (default: output training_image_uri)"
    )
    parser.add_argument(
        "--code-uri",
        help="an uploaded code bundle to run (default: build one from this checkout and upload "
        "it to s3://BUCKET/code/JOB/code.tar.gz)",
    )
    parser.add_argument(
        "--data-uri", help="folder holding train/ valid/ test/ (default: s3://BUCKET/data/)"
    )
    parser.add_argument(
        "--instance-type",
        default=None,
        help="(default: ml.m5.xlarge; ml.m5.large for trials on cached features)",
    )
    parser.add_argument("--volume-size", type=int, default=30, help="GB per instance (default: 30)")
    parser.add_argument(
        "--max-runtime", type=int, default=4 * 3600, help="seconds per job (default: 14400)"
    )
    parser.add_argument(
        "--spot",
        action="store_true",
        help="managed spot training, checkpointing to s3://BUCKET/checkpoints/JOB/",
    )
    parser.add_argument(
        "--max-wait", type=int, help="spot: seconds to wait plus run (default: 2 x --max-runtime)"
    )
    parser.add_argument(
        "--hyperparameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an ml/train.py option for every job, e.g. arch=resnet18 (repeatable)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the request instead of sending it"
    )
    return parser


def registry_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model-package-group", help="(default: output model_package_group_name)")
    return parser


# The option groups commands share (Command.shares), besides the common ones.
SHARED_OPTIONS = {"jobs": job_options, "registry": registry_options}
COMMANDS = (
    jobs.TUNE,
    jobs.FEATURES,
    jobs.TRAIN,
    registry.REGISTER,
    registry.APPROVE,
    registry.REJECT,
    deploy.DEPLOY,
    verify.VERIFY,
    status.STATUS,
    transform.TRANSFORM,
    shadow.SHADOW,
    monitor.MONITOR,
)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops",
        description="SageMaker tuning, training and deployment for the dog-breed classifier.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    shared = {name: options() for name, options in SHARED_OPTIONS.items()}
    common = common_options()
    for command in COMMANDS:
        parents = [common, *(shared[name] for name in command.shares)]
        command.options(subcommands.add_parser(command.name, parents=parents, help=command.help))
    return parser


def main(argv: list[str] | None = None) -> str:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(message)s",
    )
    if not args.verbose:
        logging.getLogger("botocore").setLevel(logging.WARNING)
    flags = {
        "bucket": args.bucket,
        "role_arn": getattr(args, "role_arn", None),
        "transform_role_arn": getattr(args, "transform_role_arn", None),
        "image_uri": getattr(args, "image_uri", None),
        "endpoint_name": getattr(args, "endpoint_name", None),
        "model_package_group": getattr(args, "model_package_group", None),
        "inference_image_uri": getattr(args, "inference_image_uri", None),
    }
    stack = Stack(flags, args.terraform_dir, args.terraform_outputs)
    try:
        aws = Aws(lambda: resolve_region(args.region, stack), command=args.command)
        command = next(command for command in COMMANDS if command.name == args.command)
        return command.run(aws, stack, args, datetime.now(UTC))
    except JobsError as error:
        logger.error("%s", error)
        raise SystemExit(error.exit_status) from None
    except ClientError as error:
        details = error.response.get("Error", {})
        logger.error(
            "AWS refused %s (%s): %s",
            error.operation_name,
            details.get("Code", "?"),
            details.get("Message", error),
        )
        raise SystemExit(1) from None
    except NoCredentialsError:
        logger.error(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or run on a host with a role"
        )
        raise SystemExit(2) from None
    except BotoCoreError as error:
        logger.error("%s", error)
        raise SystemExit(1) from None
