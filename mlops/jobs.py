"""``features``, ``tune`` and ``train``: SageMaker jobs that run ``ml/train.py`` from a code
bundle of this checkout."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from mlops import JobsError, specs
from mlops.aws import Aws, fetch
from mlops.bundle import build_code_bundle
from mlops.command import Command
from mlops.stack import Stack

logger = logging.getLogger("mlops")


def train_script_options() -> set[str]:
    """Option names of ml/train.py (``batch-size``...), the hyperparameters a job may set."""
    from ml.options import get_args_parser  # imports torch: only when hyperparameters are given

    return {
        option[2:]
        for action in get_args_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and not option.startswith("--no-") and option != "--help"
    }


def upload_code_bundle(aws: Aws, code_uri: str) -> None:
    bucket, key = specs.parse_s3_url(code_uri, "code bundle URL")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "code.tar.gz"
        count = build_code_bundle(path)
        aws.s3.upload_file(str(path), bucket, key)
    logger.info("uploaded the code bundle (%d files) to %s", count, code_uri)


def check_dataset(aws: Aws, data_uri: str) -> None:
    bucket, prefix = specs.parse_s3_url(data_uri.rstrip("/") + "/", "--data-uri")
    for split in specs.DATA_CHANNELS:
        listing = aws.s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}{split}/", MaxKeys=1)
        if not listing.get("KeyCount"):
            raise JobsError(
                f"no objects under s3://{bucket}/{prefix}{split}/: upload the dataset "
                f"({'/'.join(specs.DATA_CHANNELS)} folders of breed folders) first, e.g. "
                f"python -m ml.s3_transfer upload-dir data/dogImages s3://{bucket}/{prefix}"
            )


def job_setting(aws: Aws, stack: Stack, job: str, args) -> specs.JobSetting:
    bucket = stack.get("bucket")
    setting = specs.JobSetting(
        role_arn=stack.get("role_arn"),
        image_uri=stack.get("image_uri"),
        region=aws.region,
        bucket=bucket,
        code_uri=args.code_uri or f"s3://{bucket}/code/{job}/code.tar.gz",
        data_uri=args.data_uri or f"s3://{bucket}/data/",
    )
    specs.parse_s3_url(setting.code_uri, "--code-uri")
    specs.parse_s3_url(setting.data_uri.rstrip("/") + "/", "--data-uri")
    return setting


# A trial on cached features trains a linear layer: the smallest general-purpose instance does.
HEAD_ONLY_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"


def resources_from(args, instance_count: int = 1, head_only: bool = False) -> specs.Resources:
    default = HEAD_ONLY_INSTANCE_TYPE if head_only else DEFAULT_INSTANCE_TYPE
    return specs.Resources(
        instance_type=args.instance_type or default,
        instance_count=instance_count,
        volume_size_gb=args.volume_size,
        max_runtime_s=args.max_runtime,
        spot=args.spot,
        max_wait_s=args.max_wait,
    )


def static_hyperparameters(args) -> dict[str, object]:
    values = specs.parse_assignments(args.hyperparameter)
    if values:
        specs.check_hyperparameter_names(set(values), train_script_options())
    return values


def check_features(aws: Aws, features_uri: str) -> None:
    bucket, prefix = specs.parse_s3_url(features_uri, "features")
    for split in specs.DATA_CHANNELS:
        fetch(
            aws.s3.head_object,
            f"{features_uri}{split}.json is missing: did the features job finish?",
            Bucket=bucket,
            Key=f"{prefix}{split}.json",
        )


def submit(aws: Aws, args, setting: specs.JobSetting, request: dict, create) -> None:
    """Print the request (``--dry-run``) or upload the code, check the data and create."""
    if args.dry_run:
        sys.stdout.write(json.dumps(request, indent=2) + "\n")
        return
    if setting.features_uri is not None:
        check_features(aws, setting.features_uri)
    else:
        check_dataset(aws, setting.data_uri)
    if args.code_uri is None:
        upload_code_bundle(aws, setting.code_uri)
    create(**request)


def features_job(aws: Aws, job: str) -> tuple[str, dict[str, object]]:
    """A completed features job's cache URI and the options that shaped its features."""
    description = fetch(
        aws.sagemaker.describe_training_job,
        f"--features-job {job}: no such training job",
        TrainingJobName=job,
    )
    hyperparameters = specs.decode_hyperparameters(description["HyperParameters"])
    if hyperparameters.get("features-only") is not True:
        raise JobsError(f"--features-job {job} is not a features job (python -m mlops features)")
    if description["TrainingJobStatus"] != "Completed":
        raise JobsError(
            f"features job {job} is {description['TrainingJobStatus']}, not Completed: its "
            "cache is not ready"
        )
    shaping = {k: hyperparameters[k] for k in specs.FEATURE_SHAPING_OPTIONS if k in hyperparameters}
    return hyperparameters["features-s3-uri"], shaping


def features(aws: Aws, stack: Stack, args, now: datetime) -> str:
    """One job that computes every split's backbone features into s3://BUCKET/features/JOB/."""
    name = specs.job_name(args.prefix, "features", now)
    resources = resources_from(args)
    setting = job_setting(aws, stack, name, args)
    specs.check_image_fits_instance(setting.image_uri, resources.instance_type)
    hyperparameters = specs.features_job_hyperparameters(
        setting, name, static_hyperparameters(args)
    )
    request = specs.training_job_request(name, setting, hyperparameters, resources)
    submit(aws, args, setting, request, aws.sagemaker.create_training_job)
    if not args.dry_run:
        logger.info(
            "started features job %s; its cache will be %s; then: "
            "python -m mlops tune --features-job %s",
            name,
            setting.features_uri_of(name),
            name,
        )
    return name


FEATURES = Command(
    "features",
    "compute every split's backbone features once, for tune --features-job",
    features,
    shares=("jobs",),
)


def tune_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-jobs", type=int, default=6, help="trials in all (default: 6)")
    parser.add_argument(
        "--max-parallel-jobs", type=int, default=3, help="trials at a time (default: 3)"
    )
    parser.add_argument(
        "--lr-range",
        type=float,
        nargs=2,
        default=[1e-4, 1e-2],
        metavar=("MIN", "MAX"),
        help="learning rates, searched on a log scale (default: 1e-4 1e-2)",
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[16, 32, 64],
        metavar="N",
        help="batch sizes to choose from (default: 16 32 64)",
    )
    parser.add_argument(
        "--epochs-range",
        type=int,
        nargs=2,
        default=[2, 8],
        metavar=("MIN", "MAX"),
        help="epochs (default: 2 8)",
    )
    parser.add_argument("--strategy", choices=["Bayesian", "Random"], default="Bayesian")
    parser.add_argument(
        "--features-job",
        metavar="FEATURES_JOB",
        help="train trials on that features job's cached features (head only, seconds each) "
        "instead of on the images",
    )


def tune(aws: Aws, stack: Stack, args, now: datetime) -> str:
    name = specs.job_name(args.prefix, "tune", now)
    resources = resources_from(args, head_only=args.features_job is not None)
    setting = job_setting(aws, stack, name, args)
    static = {**specs.TRIAL_ONLY, **static_hyperparameters(args)}
    if args.features_job:
        features_uri, shaping = features_job(aws, args.features_job)
        changed = sorted(k for k in shaping if k in static and static[k] != shaping[k])
        if changed:
            raise JobsError(
                f"{', '.join(changed)} must match the features job's ({args.features_job}): "
                "its features were computed with them"
            )
        setting = dataclasses.replace(setting, features_uri=features_uri)
        static = {**static, **shaping, **specs.HEAD_ONLY}
    specs.check_image_fits_instance(setting.image_uri, resources.instance_type)
    request = specs.tuning_job_request(
        name,
        setting,
        static,
        specs.SearchSpace(
            lr_range=tuple(args.lr_range),
            batch_sizes=tuple(args.batch_sizes),
            epochs_range=tuple(args.epochs_range),
        ),
        resources,
        max_jobs=args.max_jobs,
        max_parallel_jobs=args.max_parallel_jobs,
        strategy=args.strategy,
    )
    submit(aws, args, setting, request, aws.sagemaker.create_hyper_parameter_tuning_job)
    if not args.dry_run:
        logger.info(
            "started tuning job %s: %d trials, %d at a time, minimizing valid_loss",
            name,
            args.max_jobs,
            args.max_parallel_jobs,
        )
        logger.info("follow it: python -m mlops status --tuning-job %s", name)
    return name


TUNE = Command("tune", "start a hyperparameter tuning job", tune, tune_options, shares=("jobs",))


def best_trial(aws: Aws, tuning_job: str) -> tuple[dict, dict[str, object]]:
    """The tuning job's best training job (its summary) and the hyperparameters the final
    model should train with: the trial's, without what only trials train with and what
    training on cached features needed."""
    tuning = fetch(
        aws.sagemaker.describe_hyper_parameter_tuning_job,
        f"--from-tuning {tuning_job}: no such tuning job",
        HyperParameterTuningJobName=tuning_job,
    )
    best = tuning.get("BestTrainingJob")
    if not best:
        raise JobsError(
            f"tuning job {tuning_job} has no completed training job yet (status "
            f"{tuning['HyperParameterTuningJobStatus']}); see "
            f"python -m mlops status --tuning-job {tuning_job}"
        )
    job = aws.sagemaker.describe_training_job(TrainingJobName=best["TrainingJobName"])
    hyperparameters = specs.decode_hyperparameters(job["HyperParameters"])
    for name in specs.TRIAL_ONLY:  # the final model gets ml/train.py's own (an int8 copy)
        hyperparameters.pop(name, None)
    channels = {channel["ChannelName"] for channel in job.get("InputDataConfig", [])}
    if specs.FEATURES_CHANNEL in channels:
        for name in specs.HEAD_ONLY:
            hyperparameters.pop(name, None)
        logger.info(
            "the trials trained a head on cached features; the final model trains on the images "
            "with ml/train.py's own %s (override with --hyperparameter)",
            " and ".join(specs.HEAD_ONLY),
        )
    return best, hyperparameters


def train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instance-count",
        type=int,
        default=1,
        help="instances; more than one trains with distributed data parallel (default: 1)",
    )
    parser.add_argument(
        "--from-tuning",
        metavar="TUNING_JOB",
        help="start from the hyperparameters of this tuning job's best trial",
    )


def train(aws: Aws, stack: Stack, args, now: datetime) -> str:
    name = specs.job_name(args.prefix, "train", now)
    resources = resources_from(args, args.instance_count)
    overrides = static_hyperparameters(args)
    hyperparameters = {}
    if args.from_tuning:
        best, hyperparameters = best_trial(aws, args.from_tuning)
        objective = best["FinalHyperParameterTuningJobObjectiveMetric"]
        logger.info(
            "best trial of %s: %s (%s=%s) with %s",
            args.from_tuning,
            best["TrainingJobName"],
            objective["MetricName"],
            objective["Value"],
            " ".join(f"{k}={v}" for k, v in sorted(best["TunedHyperParameters"].items())),
        )
    hyperparameters.update(overrides)
    setting = job_setting(aws, stack, name, args)
    specs.check_image_fits_instance(setting.image_uri, resources.instance_type)
    request = specs.training_job_request(name, setting, hyperparameters, resources)
    submit(aws, args, setting, request, aws.sagemaker.create_training_job)
    if not args.dry_run:
        logger.info(
            "started training job %s on %d x %s%s",
            name,
            resources.instance_count,
            resources.instance_type,
            " (spot)" if resources.spot else "",
        )
        logger.info(
            "its model will be s3://%s/models/%s/output/model.tar.gz; then: "
            "python -m mlops deploy --from-job %s",
            setting.bucket,
            name,
            name,
        )
    return name


TRAIN = Command(
    "train",
    "start a training job (1..N instances)",
    train,
    train_options,
    shares=("jobs",),
)
