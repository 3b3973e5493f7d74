"""The calls to SageMaker and S3 behind ``tune``, ``train`` and ``deploy``."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from botocore.exceptions import WaiterError

from mlops import JobsError, specs, tfvars
from mlops.aws import Aws, fetch
from mlops.bundle import build_code_bundle
from mlops.registry import require_approved
from mlops.stack import Stack

logger = logging.getLogger("mlops")

MODEL_DATA_VARIABLE = "model_data_url"
MODEL_PACKAGE_VARIABLE = "model_package_arn"


def train_script_options() -> set[str]:
    """Option names of ml/train.py (``batch-size``...), the hyperparameters a job may set."""
    from ml.train import get_args_parser  # imports torch: only when hyperparameters are given

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


def tune(aws: Aws, stack: Stack, args, now: datetime) -> str:
    name = specs.job_name(args.prefix, "tune", now)
    resources = resources_from(args, head_only=args.features_job is not None)
    setting = job_setting(aws, stack, name, args)
    static = static_hyperparameters(args)
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


def best_trial(aws: Aws, tuning_job: str) -> tuple[dict, dict[str, object]]:
    """The tuning job's best training job (its summary) and the hyperparameters the final
    model should train with: the trial's, without what training on cached features needed."""
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


def model_data_of_job(aws: Aws, job: str) -> str:
    description = fetch(
        aws.sagemaker.describe_training_job,
        f"--from-job {job}: no such training job",
        TrainingJobName=job,
    )
    status = description["TrainingJobStatus"]
    if status != "Completed":
        raise JobsError(f"training job {job} is {status}, not Completed: it has no model yet")
    return description["ModelArtifacts"]["S3ModelArtifacts"]


def check_model_data(aws: Aws, url: str, bucket: str) -> None:
    object_bucket, key = specs.parse_s3_url(url, "--model-data")
    if not key.endswith(".tar.gz"):
        raise JobsError(f"--model-data {url}: expected a model.tar.gz")
    if object_bucket != bucket or not key.startswith("models/"):
        raise JobsError(
            f"{url} is outside s3://{bucket}/models/, the only place the endpoint's role may "
            "read models from: copy it there first"
        )
    fetch(aws.s3.head_object, f"{url} does not exist", Bucket=object_bucket, Key=key)


def deploy(aws: Aws, stack: Stack, args, now: datetime) -> str:
    if not 1 <= args.poll_seconds <= args.wait_timeout:
        raise JobsError(
            f"need 1 <= --poll-seconds <= --wait-timeout, got {args.poll_seconds} and "
            f"{args.wait_timeout}"
        )
    if args.model_package:
        require_approved(aws, stack, args.model_package)
        source, variable, other = args.model_package, MODEL_PACKAGE_VARIABLE, MODEL_DATA_VARIABLE
    else:
        source = args.model_data or model_data_of_job(aws, args.from_job)
        check_model_data(aws, source, stack.get("bucket"))
        variable, other = MODEL_DATA_VARIABLE, MODEL_PACKAGE_VARIABLE
    if args.direct:
        update_endpoint(aws, stack.get("endpoint_name"), source, args, now)
    if args.tfvars:
        tfvars.write_variable(args.tfvars, variable, source)
        # Terraform takes one of the two: the other one goes.
        if tfvars.remove_variable(args.tfvars, other):
            logger.info("removed %s from %s", other, args.tfvars)
        logger.info("set %s in %s", variable, args.tfvars)
    if not args.direct:
        if not args.tfvars:
            sys.stdout.write(tfvars.assignment(variable, source) + "\n")
        logger.info(
            "Terraform owns the endpoint: apply this %s (make deploy: terraform apply keeping "
            "the instance count auto scaling chose, then python -m mlops verify) and it "
            "creates a new model and endpoint configuration, then updates the endpoint "
            "blue/green without downtime",
            variable,
        )
    elif not args.tfvars:
        logger.warning(
            "Terraform still declares the previous model: set %s in your tfvars "
            "(or pass --tfvars FILE) before the next terraform apply, or it moves the "
            "endpoint back",
            tfvars.assignment(variable, source),
        )
    return source


def update_endpoint(aws: Aws, endpoint: str, source: str, args, now: datetime) -> None:
    """New model + endpoint configuration, then UpdateEndpoint: SageMaker shifts traffic to
    the new instances once they are healthy and keeps the old ones serving until then."""
    sagemaker = aws.sagemaker
    current = fetch(
        sagemaker.describe_endpoint, f"endpoint {endpoint} does not exist", EndpointName=endpoint
    )
    if current["EndpointStatus"] != "InService":
        raise JobsError(
            f"endpoint {endpoint} is {current['EndpointStatus']}: deploy when it is InService"
        )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=current["EndpointConfigName"])
    model_names = {variant["ModelName"] for variant in config["ProductionVariants"]}
    if len(model_names) != 1:
        raise JobsError(f"endpoint {endpoint} serves {len(model_names)} models; expected one")
    model = sagemaker.describe_model(ModelName=model_names.pop())
    previous = specs.served_model(model["PrimaryContainer"])
    if previous == source:
        logger.info("endpoint %s already serves %s", endpoint, source)
        return
    tags = sagemaker.list_tags(ResourceArn=model["ModelArn"]).get("Tags", [])
    model_name = specs.job_name(args.prefix, "model", now)
    config_name = specs.job_name(args.prefix, "config", now)
    sagemaker.create_model(**specs.model_request(model_name, model, source), Tags=tags)
    sagemaker.create_endpoint_config(
        **specs.endpoint_config_request(config_name, config, model_name), Tags=tags
    )
    sagemaker.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=config_name,
        # Keep the instance count auto scaling chose, not the config's initial count.
        RetainAllVariantProperties=True,
    )
    logger.info("updating endpoint %s to %s (model %s)", endpoint, config_name, model_name)
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint,
            WaiterConfig={
                "Delay": args.poll_seconds,
                "MaxAttempts": max(1, math.ceil(args.wait_timeout / args.poll_seconds)),
            },
        )
    except WaiterError:
        state = sagemaker.describe_endpoint(EndpointName=endpoint)
        raise JobsError(
            f"endpoint {endpoint} did not return to InService with {config_name}: status "
            f"{state['EndpointStatus']}, {state.get('FailureReason', 'no failure reason')}. "
            f"SageMaker keeps serving {current['EndpointConfigName']} if the update fails"
        ) from None
    final = sagemaker.describe_endpoint(EndpointName=endpoint)
    if final["EndpointConfigName"] != config_name:
        raise JobsError(
            f"endpoint {endpoint} is InService on {final['EndpointConfigName']}, not "
            f"{config_name}: the update was rolled back"
        )
    flag = "--model-package" if specs.is_model_package(previous or "") else "--model-data"
    logger.info(
        "endpoint %s serves %s; to roll back: python -m mlops deploy --direct %s %s",
        endpoint,
        source,
        flag,
        previous,
    )
