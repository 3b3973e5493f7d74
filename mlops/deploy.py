"""``deploy``: point the endpoint at an approved model version or a model.tar.gz, through
Terraform (the variable to apply) or directly (UpdateEndpoint, waited for)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from datetime import datetime
from pathlib import Path

from botocore.exceptions import WaiterError

from mlops import JobsError, specs, tfvars
from mlops.aws import Aws, fetch
from mlops.command import Command
from mlops.registry import require_approved
from mlops.stack import Stack

logger = logging.getLogger("mlops")

MODEL_DATA_VARIABLE = "model_data_url"
MODEL_PACKAGE_VARIABLE = "model_package_arn"


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
    """The URL names a model.tar.gz under models/ that exists, as Terraform will read it."""
    tfvars.check_value("--model-data", url)
    object_bucket, key = specs.parse_s3_url(url, "--model-data")
    if not key.endswith(".tar.gz"):
        raise JobsError(f"--model-data {url}: expected a model.tar.gz")
    if object_bucket != bucket or not key.startswith("models/"):
        raise JobsError(
            f"{url} is outside s3://{bucket}/models/, the only place the endpoint's and the "
            "transform roles may read models from: copy it there first"
        )
    fetch(aws.s3.head_object, f"{url} does not exist", Bucket=object_bucket, Key=key)


def deploy_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model-package", metavar="PACKAGE_ARN", help="an Approved version of the registry"
    )
    source.add_argument("--model-data", metavar="S3_URL", help="the model.tar.gz to serve")
    source.add_argument("--from-job", metavar="TRAINING_JOB", help="serve this job's model")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="update the endpoint now (new endpoint configuration + UpdateEndpoint) instead of "
        "printing the Terraform change",
    )
    parser.add_argument(
        "--tfvars",
        type=Path,
        metavar="FILE",
        help="write the variable into this .tfvars (HCL) or .tfvars.json file",
    )
    parser.add_argument("--endpoint-name", help="(default: output endpoint_name)")
    parser.add_argument(
        "--wait-timeout", type=int, default=1800, help="seconds to wait for the update"
    )
    parser.add_argument(
        "--poll-seconds", type=int, default=30, help="seconds between status checks"
    )


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
    # Checked (and the file read) before anything changes; Terraform takes one of the two
    # variables, so the other one goes.
    line = tfvars.assignment(variable, source)
    change = tfvars.update(args.tfvars, variable, source, remove=other) if args.tfvars else None
    if args.direct:
        update_endpoint(aws, stack.get("endpoint_name"), source, args, now)
    if change:
        change.write()
        if change.removed:
            logger.info("removed %s from %s", other, args.tfvars)
        logger.info("set %s in %s", variable, args.tfvars)
    if not args.direct:
        if not args.tfvars:
            sys.stdout.write(line + "\n")
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
            line,
        )
    return source


DEPLOY = Command(
    "deploy",
    "point the endpoint at an approved model version (or a model.tar.gz)",
    deploy,
    deploy_options,
    shares=("registry",),
)


def served_model(aws: Aws, endpoint: str) -> tuple[dict, dict, dict]:
    """The endpoint (InService), its configuration and the one model that configuration
    serves; anything else is refused."""
    current = fetch(
        aws.sagemaker.describe_endpoint,
        f"endpoint {endpoint} does not exist",
        EndpointName=endpoint,
    )
    if current["EndpointStatus"] != "InService":
        raise JobsError(
            f"endpoint {endpoint} is {current['EndpointStatus']}: deploy when it is InService"
        )
    config = aws.sagemaker.describe_endpoint_config(
        EndpointConfigName=current["EndpointConfigName"]
    )
    model_names = {variant["ModelName"] for variant in config["ProductionVariants"]}
    if len(model_names) != 1:
        raise JobsError(f"endpoint {endpoint} serves {len(model_names)} models; expected one")
    return current, config, aws.sagemaker.describe_model(ModelName=model_names.pop())


def wait_for_update(aws: Aws, endpoint: str, config_name: str, previous: str, args) -> None:
    """Until the endpoint is InService on ``config_name``; a failed or rolled-back update is
    refused with SageMaker's reason."""
    try:
        aws.sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint,
            WaiterConfig={
                "Delay": args.poll_seconds,
                "MaxAttempts": max(1, math.ceil(args.wait_timeout / args.poll_seconds)),
            },
        )
    except WaiterError:
        state = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
        raise JobsError(
            f"endpoint {endpoint} did not return to InService with {config_name}: status "
            f"{state['EndpointStatus']}, {state.get('FailureReason', 'no failure reason')}. "
            f"SageMaker keeps serving {previous} if the update fails"
        ) from None
    final = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    if final["EndpointConfigName"] != config_name:
        raise JobsError(
            f"endpoint {endpoint} is InService on {final['EndpointConfigName']}, not "
            f"{config_name}: the update was rolled back"
        )


def update_endpoint(aws: Aws, endpoint: str, source: str, args, now: datetime) -> None:
    """New model + endpoint configuration, then UpdateEndpoint: SageMaker shifts traffic to
    the new instances once they are healthy and keeps the old ones serving until then."""
    sagemaker = aws.sagemaker
    current, config, model = served_model(aws, endpoint)
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
    wait_for_update(aws, endpoint, config_name, current["EndpointConfigName"], args)
    flag = "--model-package" if specs.is_model_package(previous or "") else "--model-data"
    logger.info(
        "endpoint %s serves %s; to roll back: python -m mlops deploy --direct %s %s",
        endpoint,
        source,
        flag,
        previous,
    )
