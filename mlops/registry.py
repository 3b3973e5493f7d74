"""``register``, ``approve`` and ``reject``: the Model Registry between training and serving.

A completed training job's model becomes a version of the stack's model package group,
``PendingManualApproval``, carrying what a reviewer needs: the training job, its
hyperparameters, its final metrics (a JSON document in S3, the version's model metrics), the
code bundle's sha256 and the dataset prefix. A person approves or rejects it, and ``deploy``
takes Approved versions only. Rejecting the version that serves is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import tarfile
from dataclasses import dataclass

from botocore.exceptions import ClientError

from mlops import JobsError, specs
from mlops.aws import Aws, fetch, not_found
from mlops.command import Command
from mlops.stack import Stack

logger = logging.getLogger("mlops")

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
# A version of a model package group (SageMaker API reference, DescribeModelPackage and
# CreateModelPackageGroup's name pattern), matched in full: a trailing newline is no ARN.
PACKAGE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"model-package/(?P<group>[A-Za-z0-9](?:-*[A-Za-z0-9]){0,62})/(?P<version>[1-9][0-9]{0,9})"
)
# What the endpoint's handler reads and answers (ml/inference.py).
CONTENT_TYPES = ["image/jpeg", "image/png", "application/x-image", "application/json"]
# CustomerMetadataProperties values: 1 to 256 characters of this alphabet (CreateModelPackage).
METADATA_VALUE = re.compile(r"[\w\s.:/=+\-@]{1,256}")
# What ml/train.py writes to SM_OUTPUT_DATA_DIR, which SageMaker uploads as output.tar.gz:
# its metrics, and the baseline the live model's traffic is compared with (ml/baseline.py).
METRICS_MEMBER = "metrics.json"
BASELINE_MEMBER = "baseline.json"


@dataclass(frozen=True)
class Provenance:
    """Where a model came from, as a reviewer needs it."""

    training_job: str
    training_job_arn: str
    model_data_url: str
    hyperparameters: dict[str, object]
    metrics: dict[str, float]
    dataset: str
    code_uri: str
    code_sha256: str
    precision: str  # int8 when the archive carries an int8 model (x86 CPUs serve it), else fp32
    baseline: dict | None = None  # None from a job trained before baselines were written

    def document(self) -> dict:
        return {
            "training_job": self.training_job,
            "model_data_url": self.model_data_url,
            "dataset": self.dataset,
            "code_uri": self.code_uri,
            "code_sha256": self.code_sha256,
            "precision": self.precision,
            "hyperparameters": self.hyperparameters,
            "metrics": self.metrics,
        }

    def customer_metadata(self) -> dict[str, str]:
        """The version's CustomerMetadataProperties (shown in the registry's list): the job,
        the data, the code's hash, every metric, and every hyperparameter whose value the API
        accepts there (all of them are in the metrics document in any case)."""
        entries = {
            "training_job": self.training_job,
            "dataset": self.dataset,
            "code_sha256": self.code_sha256,
            "precision": self.precision,
            **{f"metric:{name}": f"{value:.6g}" for name, value in sorted(self.metrics.items())},
        }
        for name, value in sorted(self.hyperparameters.items()):
            text = json.dumps(value) if not isinstance(value, str) else value
            if METADATA_VALUE.fullmatch(text) and not name.startswith("sagemaker_"):
                entries[f"hyperparameter:{name}"] = text
        return dict(list(entries.items())[:50])  # the API's most


def package_version(arn: object) -> tuple[str, str, str, str, int] | None:
    """(partition, region, account, group, version) of a model package version ARN, the group
    in lower case as SageMaker writes it in ARNs; None for anything else."""
    match = PACKAGE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        return None
    parts = match.group("partition", "region", "account")
    return (*parts, match["group"].lower(), int(match["version"]))


def same_package(arn: str, other: str | None) -> bool:
    """Whether two spellings name the same version (compared parsed, not as text)."""
    parsed = package_version(arn)
    return parsed is not None and parsed == package_version(other)


def parse_package_arn(arn: str, group: str) -> str:
    """The ARN of a version of ``group``; anything else is refused by name."""
    parsed = package_version(arn)
    if parsed is None:
        raise JobsError(
            f"{arn!r} is not a model package version ARN "
            "(arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION)"
        )
    if parsed[3] != group.lower():
        raise JobsError(f"{arn} is a version of {parsed[3]}, not of this stack's {group}")
    return arn


def training_output(aws: Aws, job: dict) -> tuple[dict, dict | None]:
    """The metrics.json and baseline.json (None if absent) ml/train.py wrote: from the job's
    output.tar.gz, which SageMaker uploads beside model.tar.gz."""
    model_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    output_url = model_url.rsplit("/", 1)[0] + "/output.tar.gz"
    bucket, key = specs.parse_s3_url(output_url, "training output")
    body = fetch(
        aws.s3.get_object,
        f"{output_url} is missing: the job wrote no {METRICS_MEMBER} (ml/train.py writes it)",
        Bucket=bucket,
        Key=key,
    )["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        members = {m.name.lstrip("./"): m for m in archive if m.isfile()}
        if METRICS_MEMBER not in members:
            raise JobsError(f"{output_url} holds no {METRICS_MEMBER}")
        metrics = json.loads(archive.extractfile(members[METRICS_MEMBER]).read())
        if BASELINE_MEMBER not in members:
            return metrics, None
        try:
            baseline = json.loads(archive.extractfile(members[BASELINE_MEMBER]).read())
        except ValueError as error:
            raise JobsError(f"{output_url}: {BASELINE_MEMBER} is not JSON ({error})") from None
        return metrics, baseline


def final_metrics(written: dict) -> dict[str, float]:
    """The test metrics and the last epoch's, and the int8 model's agreement with fp32 when
    training checked one."""
    last_epoch = written["history"][-1] if written.get("history") else {}
    metrics = {f"final_{k}": v for k, v in last_epoch.items() if k != "epoch"}
    metrics.update(
        {k if k.startswith("test_") else f"test_{k}": v for k, v in written.get("test", {}).items()}
    )
    if isinstance(written.get("int8"), dict) and "agreement" in written["int8"]:
        metrics["int8_agreement"] = written["int8"]["agreement"]
    return {name: float(value) for name, value in metrics.items()}


def archive_precision(written: dict) -> str:
    """int8 when training shipped an int8 model in the archive (its check passed), else fp32."""
    int8 = written.get("int8")
    return "int8" if isinstance(int8, dict) and int8.get("shipped") is True else "fp32"


def provenance_of(aws: Aws, job_name: str) -> Provenance:
    job = fetch(
        aws.sagemaker.describe_training_job,
        f"--from-job {job_name}: no such training job",
        TrainingJobName=job_name,
    )
    if job["TrainingJobStatus"] != "Completed":
        raise JobsError(
            f"training job {job_name} is {job['TrainingJobStatus']}, not Completed: it has no "
            "model to register"
        )
    hyperparameters = specs.decode_hyperparameters(job["HyperParameters"])
    if hyperparameters.get("features-only") is True:
        raise JobsError(f"{job_name} is a features job: it computed features, not a model")
    code_uri = specs.decode_value(job["HyperParameters"].get("sagemaker_submit_directory", ""))
    if not isinstance(code_uri, str) or not code_uri:
        raise JobsError(f"{job_name} names no code bundle (sagemaker_submit_directory)")
    bucket, key = specs.parse_s3_url(code_uri, "code bundle")
    code = fetch(aws.s3.get_object, f"{code_uri} is missing", Bucket=bucket, Key=key)
    channels = {c["ChannelName"]: c for c in job.get("InputDataConfig", [])}
    if "train" not in channels:
        raise JobsError(f"{job_name} trained on cached features, not images: train it on images")
    dataset = channels["train"]["DataSource"]["S3DataSource"]["S3Uri"]
    written, baseline = training_output(aws, job)
    return Provenance(
        training_job=job_name,
        training_job_arn=job["TrainingJobArn"],
        model_data_url=job["ModelArtifacts"]["S3ModelArtifacts"],
        hyperparameters=hyperparameters,
        metrics=final_metrics(written),
        dataset=dataset.rstrip("/").rsplit("/", 1)[0] + "/",
        code_uri=code_uri,
        code_sha256=hashlib.sha256(code["Body"].read()).hexdigest(),
        precision=archive_precision(written),
        baseline=baseline,
    )


def package_request(
    group: str,
    image_uri: str,
    region: str,
    provenance: Provenance,
    metrics_uri: str,
    baseline_uri: str | None = None,
) -> dict:
    """CreateModelPackage for one version of ``group``, as the endpoint module serves it;
    its traffic baseline (when there is one) as the version's drift check baseline."""
    drift = (
        {
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": baseline_uri}
                }
            }
        }
        if baseline_uri
        else {}
    )
    return {
        **drift,
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"{provenance.training_job}: {provenance.dataset}",
        "ModelApprovalStatus": PENDING,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": image_uri,
                    "ModelDataUrl": provenance.model_data_url,
                    "Environment": specs.serving_environment(region),
                }
            ],
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}
            }
        },
        "MetadataProperties": {
            "GeneratedBy": provenance.training_job_arn,
            "CommitId": provenance.code_sha256,
        },
        "CustomerMetadataProperties": provenance.customer_metadata(),
    }


def register_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from-job", metavar="TRAINING_JOB", required=True, help="a Completed training job"
    )
    parser.add_argument("--inference-image-uri", help="(default: output inference_image_uri)")


def register(aws: Aws, stack: Stack, args, now) -> str:
    """A new PendingManualApproval version of the stack's group from ``args.from_job``."""
    group, bucket = stack.get("model_package_group"), stack.get("bucket")
    provenance = provenance_of(aws, args.from_job)
    folder = f"{specs.REGISTRY_PREFIX}{group}/{provenance.training_job}/"
    documents = {METRICS_MEMBER: provenance.document(), BASELINE_MEMBER: provenance.baseline}
    for name, document in documents.items():
        if document is not None:
            aws.s3.put_object(
                Bucket=bucket,
                Key=folder + name,
                Body=json.dumps(document, indent=2).encode(),
                ContentType="application/json",
            )
    if provenance.baseline is None:
        logger.warning(
            "%s wrote no %s (trained before baselines were written): this version's traffic "
            "cannot be monitored for drift",
            provenance.training_job,
            BASELINE_MEMBER,
        )
    request = package_request(
        group,
        stack.get("inference_image_uri"),
        aws.region,
        provenance,
        f"s3://{bucket}/{folder}{METRICS_MEMBER}",
        None if provenance.baseline is None else f"s3://{bucket}/{folder}{BASELINE_MEMBER}",
    )
    arn = aws.sagemaker.create_model_package(**request)["ModelPackageArn"]
    logger.info(
        "registered %s as %s (%s): %s",
        provenance.training_job,
        arn,
        PENDING,
        " ".join(f"{k}={v:.4f}" for k, v in sorted(provenance.metrics.items())),
    )
    logger.info("review it, then: python -m mlops approve %s (or reject it)", arn)
    return arn


REGISTER = Command(
    "register",
    "add a training job's model to the model registry, pending approval",
    register,
    register_options,
    shares=("registry",),
)


def describe(aws: Aws, arn: str) -> dict:
    return fetch(
        aws.sagemaker.describe_model_package,
        f"{arn}: no such model package",
        ModelPackageName=arn,
    )


def live_package(aws: Aws, endpoint: str | None) -> str | None:
    """The version the endpoint serves, if it serves one."""
    if not endpoint:
        return None
    try:
        described = aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if not_found(error):
            return None
        raise
    config = aws.sagemaker.describe_endpoint_config(
        EndpointConfigName=described["EndpointConfigName"]
    )
    for variant in config["ProductionVariants"]:
        model = aws.sagemaker.describe_model(ModelName=variant["ModelName"])
        container = model.get("PrimaryContainer") or model["Containers"][0]
        if container.get("ModelPackageName"):
            return container["ModelPackageName"]
    return None


def set_approval(aws: Aws, stack: Stack, arn: str, status: str, note: str | None) -> str:
    arn = parse_package_arn(arn, stack.get("model_package_group"))
    current = describe(aws, arn)["ModelApprovalStatus"]
    if status == REJECTED and same_package(arn, live_package(aws, stack.optional("endpoint_name"))):
        raise JobsError(
            f"{arn} is the version the endpoint serves: deploy another approved version first, "
            "then reject this one"
        )
    if current == status:
        logger.info("%s is already %s", arn, status)
        return arn
    update = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
    if note:
        update["ApprovalDescription"] = note
    aws.sagemaker.update_model_package(**update)
    logger.info("%s: %s -> %s", arn, current, status)
    if status == APPROVED:
        logger.info("deploy it: python -m mlops deploy --model-package %s --tfvars FILE", arn)
    return arn


def review_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", metavar="PACKAGE_ARN", help="the version's ARN")
    parser.add_argument(
        "--note", help="why (the version's ApprovalDescription, up to 1024 characters)"
    )


def reject_options(parser: argparse.ArgumentParser) -> None:
    review_options(parser)
    parser.add_argument("--endpoint-name", help="(default: output endpoint_name)")


def approve(aws: Aws, stack: Stack, args, now) -> str:
    return set_approval(aws, stack, args.package, APPROVED, args.note)


def reject(aws: Aws, stack: Stack, args, now) -> str:
    return set_approval(aws, stack, args.package, REJECTED, args.note)


APPROVE = Command(
    "approve", "let a registered version serve", approve, review_options, shares=("registry",)
)
REJECT = Command("reject", "refuse it", reject, reject_options, shares=("registry",))


def require_approved(aws: Aws, stack: Stack, arn: str) -> dict:
    """The version's description, when it is Approved; anything else is refused."""
    arn = parse_package_arn(arn, stack.get("model_package_group"))
    package = describe(aws, arn)
    status = package.get("ModelApprovalStatus", PENDING)
    if status != APPROVED:
        advice = {
            PENDING: f"review it and approve it first: python -m mlops approve {arn}",
            REJECTED: "a rejected version never serves: register and approve another",
        }
        raise JobsError(f"{arn} is {status}, not {APPROVED}: {advice.get(status, '')}".rstrip())
    return package


def version_rows(aws: Aws, group: str, live: str | None, limit: int) -> list[list[str]]:
    """The group's newest versions for ``status``: approval, metrics, the live one marked."""
    summaries = aws.sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=limit,
    )["ModelPackageSummaryList"]
    rows = []
    for summary in summaries:
        arn = summary["ModelPackageArn"]
        package = describe(aws, arn)
        metadata = package.get("CustomerMetadataProperties", {})
        metrics = " ".join(
            f"{key.removeprefix('metric:')}={value}"
            for key, value in sorted(metadata.items())
            if key.startswith("metric:")
        )
        precision = metadata.get("precision", "precision not recorded")
        detail = f"{metadata.get('training_job', '?')}; {precision}; {metrics or 'no metrics'}"
        if same_package(arn, live):
            detail = "LIVE; " + detail
        status = package.get("ModelApprovalStatus", "-")
        created = f"{summary['CreationTime']:%Y-%m-%d %H:%M}"
        rows.append(["version", arn, status, created, detail])
    return rows
