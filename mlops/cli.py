"""Command line of ``python -m mlops``; see the package docstring and README for the workflow."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from mlops import JobsError, commands, registry, status, verify
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


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops",
        description="SageMaker tuning, training and deployment for the dog-breed classifier.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    common, jobs = common_options(), job_options()

    tune = subcommands.add_parser(
        "tune", parents=[common, jobs], help="start a hyperparameter tuning job"
    )
    tune.add_argument("--max-jobs", type=int, default=6, help="trials in all (default: 6)")
    tune.add_argument(
        "--max-parallel-jobs", type=int, default=3, help="trials at a time (default: 3)"
    )
    tune.add_argument(
        "--lr-range",
        type=float,
        nargs=2,
        default=[1e-4, 1e-2],
        metavar=("MIN", "MAX"),
        help="learning rates, searched on a log scale (default: 1e-4 1e-2)",
    )
    tune.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[16, 32, 64],
        metavar="N",
        help="batch sizes to choose from (default: 16 32 64)",
    )
    tune.add_argument(
        "--epochs-range",
        type=int,
        nargs=2,
        default=[2, 8],
        metavar=("MIN", "MAX"),
        help="epochs (default: 2 8)",
    )
    tune.add_argument("--strategy", choices=["Bayesian", "Random"], default="Bayesian")
    tune.add_argument(
        "--features-job",
        metavar="FEATURES_JOB",
        help="train trials on that features job's cached features (head only, seconds each) "
        "instead of on the images",
    )

    subcommands.add_parser(
        "features",
        parents=[common, jobs],
        help="compute every split's backbone features once, for tune --features-job",
    )

    train = subcommands.add_parser(
        "train", parents=[common, jobs], help="start a training job (1..N instances)"
    )
    train.add_argument(
        "--instance-count",
        type=int,
        default=1,
        help="instances; more than one trains with distributed data parallel (default: 1)",
    )
    train.add_argument(
        "--from-tuning",
        metavar="TUNING_JOB",
        help="start from the hyperparameters of this tuning job's best trial",
    )

    registry = argparse.ArgumentParser(add_help=False)
    registry.add_argument(
        "--model-package-group", help="(default: output model_package_group_name)"
    )

    register = subcommands.add_parser(
        "register",
        parents=[common, registry],
        help="add a training job's model to the model registry, pending approval",
    )
    register.add_argument(
        "--from-job", metavar="TRAINING_JOB", required=True, help="a Completed training job"
    )
    register.add_argument("--inference-image-uri", help="(default: output inference_image_uri)")
    for verb, what in (("approve", "let a registered version serve"), ("reject", "refuse it")):
        review = subcommands.add_parser(verb, parents=[common, registry], help=what)
        review.add_argument("package", metavar="PACKAGE_ARN", help="the version's ARN")
        review.add_argument(
            "--note", help="why (the version's ApprovalDescription, up to 1024 characters)"
        )
        if verb == "reject":
            review.add_argument("--endpoint-name", help="(default: output endpoint_name)")

    deploy = subcommands.add_parser(
        "deploy",
        parents=[common, registry],
        help="point the endpoint at an approved model version (or a model.tar.gz)",
    )
    source = deploy.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model-package", metavar="PACKAGE_ARN", help="an Approved version of the registry"
    )
    source.add_argument("--model-data", metavar="S3_URL", help="the model.tar.gz to serve")
    source.add_argument("--from-job", metavar="TRAINING_JOB", help="serve this job's model")
    deploy.add_argument(
        "--direct",
        action="store_true",
        help="update the endpoint now (new endpoint configuration + UpdateEndpoint) instead of "
        "printing the Terraform change",
    )
    deploy.add_argument(
        "--tfvars", type=Path, metavar="FILE", help="write model_data_url into this .tfvars file"
    )
    deploy.add_argument("--endpoint-name", help="(default: output endpoint_name)")
    deploy.add_argument(
        "--wait-timeout", type=int, default=1800, help="seconds to wait for the update"
    )
    deploy.add_argument(
        "--poll-seconds", type=int, default=30, help="seconds between status checks"
    )

    check = subcommands.add_parser(
        "verify",
        parents=[common],
        help="check that the endpoint serves what was just applied; exit 1 with the reason "
        "when the deployment failed or was rolled back",
    )
    check.add_argument("--endpoint-name", help="(default: output endpoint_name)")
    check.add_argument(
        "--expect-config",
        metavar="NAME",
        help="the endpoint configuration it should be on (default: output endpoint_config_name)",
    )
    check.add_argument(
        "--expect-model",
        metavar="S3_URL_OR_PACKAGE_ARN",
        help="the model.tar.gz or model package it should serve (default: output endpoint_model)",
    )
    check.add_argument(
        "--wait-timeout",
        type=int,
        default=3600,
        help="seconds to wait while the endpoint is still updating (default: 3600)",
    )
    check.add_argument("--poll-seconds", type=int, default=30, help="seconds between status checks")

    report = subcommands.add_parser(
        "status",
        parents=[common, registry],
        help="recent jobs, the registry's versions and the endpoint, as a table",
    )
    report.add_argument("--tuning-job", help="show this tuning job's trials instead")
    report.add_argument("--endpoint-name", help="(default: output endpoint_name, if any)")
    report.add_argument("--limit", type=int, default=5, help="jobs of each kind (default: 5)")
    report.add_argument(
        "--desired-instance-count",
        action="store_true",
        help="print only the instance count auto scaling wants now (nothing without an "
        "instance-based endpoint), for terraform apply -var endpoint_current_instance_count=N",
    )
    return parser


def run_verify(aws, stack: Stack, args, now: datetime) -> str:
    if not 1 <= args.poll_seconds <= args.wait_timeout:
        raise JobsError(
            f"need 1 <= --poll-seconds <= --wait-timeout, got {args.poll_seconds} and "
            f"{args.wait_timeout}"
        )
    expected = verify.Expected(
        endpoint=stack.get("endpoint_name"),
        config=args.expect_config or stack.get("endpoint_config"),
        model=args.expect_model or stack.get("model"),
        rollback_alarms=tuple(stack.optional_list("endpoint_rollback_alarm_names")),
    )
    summary = verify.verify(aws, expected, args.wait_timeout, args.poll_seconds)
    logger.info("%s", summary)
    return summary


def print_desired_instance_count(aws, stack: Stack) -> str:
    """The count, or an empty line when there is no stack, endpoint or instance fleet yet:
    the first deployment starts at min_capacity."""
    try:
        count = verify.desired_instance_count(aws, stack.get("endpoint_name"))
    except JobsError as nothing:
        logger.info("no instance count to keep: %s", nothing)
        count = None
    text = "" if count is None else str(count)
    sys.stdout.write(text + "\n")
    return text


def run_status(aws, stack: Stack, args, now: datetime) -> str:
    if args.desired_instance_count:
        return print_desired_instance_count(aws, stack)
    if not 1 <= args.limit <= 100:
        raise JobsError(f"--limit must be between 1 and 100, got {args.limit}")
    if args.tuning_job:
        table = status.trials(aws, args.tuning_job)
    else:
        try:
            endpoint = stack.get("endpoint_name")
        except JobsError:
            logger.info("no endpoint known to show (pass --endpoint-name to show one)")
            endpoint = None
        table = status.overview(
            aws, args.prefix, endpoint, args.limit, stack.optional("model_package_group")
        )
    sys.stdout.write(table + "\n")
    return table


COMMANDS = {
    "features": commands.features,
    "tune": commands.tune,
    "train": commands.train,
    "register": registry.register,
    "approve": registry.approve,
    "reject": registry.reject,
    "deploy": commands.deploy,
    "verify": run_verify,
    "status": run_status,
}


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
        "image_uri": getattr(args, "image_uri", None),
        "endpoint_name": getattr(args, "endpoint_name", None),
        "model_package_group": getattr(args, "model_package_group", None),
        "inference_image_uri": getattr(args, "inference_image_uri", None),
    }
    stack = Stack(flags, args.terraform_dir, args.terraform_outputs)
    try:
        aws = Aws(lambda: resolve_region(args.region, stack), command=args.command)
        return COMMANDS[args.command](aws, stack, args, datetime.now(UTC))
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
