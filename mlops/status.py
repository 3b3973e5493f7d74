"""``status``: recent jobs, the registry's versions and the endpoint, or one tuning job's
trials, as a table."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

from botocore.exceptions import ClientError

from mlops import JobsError, specs
from mlops.aws import Aws, fetch, not_found
from mlops.command import Command
from mlops.registry import live_package, version_rows
from mlops.stack import Stack
from mlops.verify import print_desired_instance_count

logger = logging.getLogger("mlops")


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def metrics_text(metric_data: list[dict]) -> str:
    return " ".join(f"{m['MetricName']}={m['Value']:.4f}" for m in metric_data) or "-"


def tuning_row(sagemaker, summary: dict) -> list[str]:
    name = summary["HyperParameterTuningJobName"]
    description = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    limits = description["HyperParameterTuningJobConfig"]["ResourceLimits"]
    done = description["TrainingJobStatusCounters"].get("Completed", 0)
    detail = f"{done}/{limits['MaxNumberOfTrainingJobs']} trials done"
    if best := description.get("BestTrainingJob"):
        objective = best["FinalHyperParameterTuningJobObjectiveMetric"]
        detail += f"; best {best['TrainingJobName']} {objective['MetricName']}="
        detail += f"{objective['Value']:.4f}"
    status = description["HyperParameterTuningJobStatus"]
    return ["tuning", name, status, when(description["CreationTime"]), detail]


def training_row(job: dict) -> list[str]:
    name = job["TrainingJobName"]
    resources = job["ResourceConfig"]
    detail = f"{resources['InstanceCount']} x {resources['InstanceType']}"
    if job.get("EnableManagedSpotTraining"):
        detail += " spot"
    detail += f"; {metrics_text(job.get('FinalMetricDataList', []))}"
    if job.get("FailureReason"):
        detail += f"; {job['FailureReason']}"
    status = job["TrainingJobStatus"]
    if status == "InProgress" and job.get("SecondaryStatus"):
        status += f" ({job['SecondaryStatus']})"  # Downloading, Training, Uploading...
    return ["training", name, status, when(job["CreationTime"]), detail]


def serving_precision(aws: Aws, container: dict, instance_type: str | None) -> str | None:
    """What a variant's model runs in, as ml/inference.py chooses: its INFERENCE_PRECISION,
    else int8 when its model package's archive carries an int8 model and the instances are x86
    CPUs (serverless is), else fp32; None for a model from an S3 URL (its archive unread)."""
    forced = container.get("Environment", {}).get("INFERENCE_PRECISION", "auto")
    if forced in ("fp32", "int8"):
        return forced
    if not container.get("ModelPackageName"):
        return None
    try:
        package = aws.sagemaker.describe_model_package(
            ModelPackageName=container["ModelPackageName"]
        )
    except ClientError as error:
        if not_found(error):  # deleted since: the endpoint row says which package it was
            return None
        raise
    archive = package.get("CustomerMetadataProperties", {}).get("precision")
    if archive == "int8" and instance_type and specs.NO_X86_INT8.match(instance_type):
        return "fp32"
    return archive


def endpoint_row(aws: Aws, name: str) -> list[str]:
    sagemaker = aws.sagemaker
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if not_found(error):
            return ["endpoint", name, "NotFound", "-", "-"]
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    models = []
    for variant in config["ProductionVariants"]:
        container = sagemaker.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]
        precision = serving_precision(aws, container, variant.get("InstanceType"))
        served = specs.served_model(container)
        models.append(f"{served} ({precision})" if precision else str(served))
    instances = sum(v.get("CurrentInstanceCount", 0) for v in endpoint["ProductionVariants"])
    detail = f"{endpoint['EndpointConfigName']}; {instances} instance(s); {', '.join(models)}"
    return ["endpoint", name, endpoint["EndpointStatus"], when(endpoint["CreationTime"]), detail]


def training_jobs(sagemaker, prefix: str, limit: int) -> list[dict]:
    """The newest ``limit`` training jobs named ``prefix``*, leaving out tuning trials (the
    tuning row sums those up)."""
    jobs = []
    summaries = sagemaker.list_training_jobs(
        NameContains=prefix, SortBy="CreationTime", SortOrder="Descending", MaxResults=100
    )["TrainingJobSummaries"]
    for summary in summaries:
        job = sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        if "TuningJobArn" not in job:
            jobs.append(job)
        if len(jobs) == limit:
            break
    return jobs


def overview(
    aws: Aws, prefix: str, endpoint: str | None, limit: int, group: str | None = None
) -> str:
    sagemaker = aws.sagemaker
    newest = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": limit}
    rows = [
        tuning_row(sagemaker, summary)
        for summary in sagemaker.list_hyper_parameter_tuning_jobs(NameContains=prefix, **newest)[
            "HyperParameterTuningJobSummaries"
        ]
    ]
    rows += [training_row(job) for job in training_jobs(sagemaker, prefix, limit)]
    if group:
        rows += version_rows(aws, group, live_package(aws, endpoint), limit)
    if endpoint:
        rows.append(endpoint_row(aws, endpoint))
    if not rows:
        return f"no jobs named {prefix}-* and no endpoint known"
    return format_table(["KIND", "NAME", "STATUS", "CREATED", "DETAIL"], rows)


def trials(aws: Aws, tuning_job: str) -> str:
    """One tuning job and its trials, best objective first."""
    sagemaker = aws.sagemaker
    description = fetch(
        sagemaker.describe_hyper_parameter_tuning_job,
        f"--tuning-job {tuning_job}: no such tuning job",
        HyperParameterTuningJobName=tuning_job,
    )
    objective = description["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    order = "Ascending" if objective["Type"] == "Minimize" else "Descending"
    summaries = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_job, SortBy="FinalObjectiveMetricValue", SortOrder=order
    )["TrainingJobSummaries"]
    rows = []
    for summary in summaries:
        final = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
        tuned = " ".join(f"{k}={v}" for k, v in sorted(summary["TunedHyperParameters"].items()))
        rows.append(
            [
                summary["TrainingJobName"],
                summary["TrainingJobStatus"],
                f"{final['Value']:.4f}" if final else "-",
                tuned,
            ]
        )
    heading = (
        f"{tuning_job}: {description['HyperParameterTuningJobStatus']}, "
        f"{objective['Type'].lower()} {objective['MetricName']}"
    )
    headers = ["TRIAL", "STATUS", objective["MetricName"].upper(), "HYPERPARAMETERS"]
    table = format_table(headers, rows)
    return f"{heading}\n{table}" if rows else f"{heading}\nno trials yet"


def status_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tuning-job", help="show this tuning job's trials instead")
    parser.add_argument("--endpoint-name", help="(default: output endpoint_name, if any)")
    parser.add_argument("--limit", type=int, default=5, help="jobs of each kind (default: 5)")
    parser.add_argument(
        "--desired-instance-count",
        action="store_true",
        help="print only the instance count auto scaling wants now (nothing without an "
        "instance-based endpoint), for terraform apply -var endpoint_current_instance_count=N",
    )


def run_status(aws: Aws, stack: Stack, args, now: datetime) -> str:
    if args.desired_instance_count:
        return print_desired_instance_count(aws, stack)
    if not 1 <= args.limit <= 100:
        raise JobsError(f"--limit must be between 1 and 100, got {args.limit}")
    if args.tuning_job:
        table = trials(aws, args.tuning_job)
    else:
        try:
            endpoint = stack.get("endpoint_name")
        except JobsError:
            logger.info("no endpoint known to show (pass --endpoint-name to show one)")
            endpoint = None
        table = overview(
            aws, args.prefix, endpoint, args.limit, stack.optional("model_package_group")
        )
    sys.stdout.write(table + "\n")
    return table


STATUS = Command(
    "status",
    "recent jobs, the registry's versions and the endpoint, as a table",
    run_status,
    status_options,
    shares=("registry",),
)
