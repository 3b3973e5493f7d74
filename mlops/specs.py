"""Names and SageMaker request bodies, as pure functions of the options.

Hyperparameters travel as the SageMaker Python SDK sends them: every value JSON-encoded
(``"0.001"``, ``"\\"resnet50\\""``, ``"true"``), names as ``ml/train.py`` spells its options
(``batch-size``). The training toolkit decodes them and calls
``ml/train.py --batch-size 32 ...``; ``sagemaker_program`` and ``sagemaker_submit_directory``
tell it which script of which bundle to run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from ml.metrics import METRIC_DEFINITIONS, TUNING_OBJECTIVE
from mlops import JobsError

TRAINING_ENTRY_POINT = "ml/train.py"
DATA_CHANNELS = ("train", "valid", "test")
FEATURES_CHANNEL = "features"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# Where register puts each version's metrics document (the bucket's registry/ prefix).
REGISTRY_PREFIX = "registry/"
TUNED_HYPERPARAMETERS = ("lr", "batch-size", "epochs")
# Options of ml/train.py that the job itself sets (channels, model and checkpoint folders).
JOB_OWNED_OPTIONS = frozenset(
    {
        "data-dir",
        "train-dir",
        "valid-dir",
        "test-dir",
        "model-dir",
        "output-data-dir",
        "checkpoint-dir",
        "feature-cache",
        "features-only",
        "features-s3-uri",
    }
)
# What head-only training on cached features needs: the backbone frozen, no augmentation.
HEAD_ONLY = {"freeze-backbone": True, "augment": False}
# What tuning trials train with and the final model does not: no int8 copy (ml/train.py's
# default), as trials' models are compared, not served, and the check costs each trial.
TRIAL_ONLY = {"package-int8": False}
# Options of a features job that shape the features: its trials must train with the same.
FEATURE_SHAPING_OPTIONS = ("arch", "image-size", "pretrained", "backbone-weights")
# The longest names SageMaker accepts, by kind of resource.
NAME_LIMITS = {"tune": 32, "train": 63, "features": 63, "model": 63, "config": 63, "transform": 63}
# Patterns are matched in full (fullmatch): "$" alone would take a trailing newline.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)", re.DOTALL)
# S3 user guide, "Naming Amazon S3 objects": ASCII 0-31 and 127 are characters to avoid.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
GPU_INSTANCE = re.compile(r"^ml\.(p|g)\d")
# Instance families that serve fp32 from an archive carrying an int8 model (ml/inference.py
# chooses by device): NVIDIA GPUs, Graviton (torch on arm64 has no x86 quantized engine),
# Inferentia and Trainium. Named as in the EC2 naming conventions, as the endpoint module does.
NO_X86_INT8 = re.compile(r"^ml\.((p|g|gr)\d|(inf|trn)\d|[a-z]+\d+[a-z]*g[a-z]*\.)")


def job_name(prefix: str, kind: str, now: datetime) -> str:
    """``<prefix>-<kind>-<yymmdd-HHMMSS>``, checked against SageMaker's rules for ``kind``."""
    name = f"{prefix}-{kind}-{now:%y%m%d-%H%M%S}"
    if not NAME_PATTERN.fullmatch(name):
        raise JobsError(f"--prefix {prefix!r}: use only letters, digits and hyphens")
    limit = NAME_LIMITS[kind]
    if len(name) > limit:
        raise JobsError(
            f"--prefix {prefix!r} is too long: SageMaker allows {limit} characters for a "
            f"{kind} name and {name!r} has {len(name)}; use at most "
            f"{limit - len(name) + len(prefix)} characters"
        )
    return name


def parse_s3_url(url: str, what: str) -> tuple[str, str]:
    match = S3_URL.fullmatch(url)
    if match is None:
        raise JobsError(f"{what} must be an s3://bucket/key URL, got {url!r}")
    if CONTROL_CHARACTER.search(url):
        raise JobsError(f"{what} {url!r}: a control character (a newline?) is not part of a key")
    return match.group(1), match.group(2)


def parse_assignments(items: list[str]) -> dict[str, object]:
    """``["lr=0.01", "arch=resnet18"]`` -> ``{"lr": 0.01, "arch": "resnet18"}``."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise JobsError(f"--hyperparameter {item!r}: expected NAME=VALUE, e.g. arch=resnet18")
        values[name.strip()] = decode_value(text.strip())
    return values


def decode_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def encode_hyperparameters(values: dict[str, object]) -> dict[str, str]:
    return {name: json.dumps(value) for name, value in values.items()}


def decode_hyperparameters(encoded: dict[str, str]) -> dict[str, object]:
    """A job's hyperparameters without the toolkit's own ``sagemaker_*`` entries."""
    return {
        name: decode_value(text)
        for name, text in encoded.items()
        if not name.startswith("sagemaker_") and not name.startswith("_")
    }


def check_hyperparameter_names(names: set[str], valid_options: set[str]) -> None:
    """Every name must be an option of ml/train.py that the job does not set itself."""
    owned = sorted(names & JOB_OWNED_OPTIONS)
    if owned:
        raise JobsError(f"hyperparameter(s) {', '.join(owned)} are set by the job itself")
    unknown = sorted(names - valid_options)
    if unknown:
        raise JobsError(
            f"ml/train.py has no option(s) {', '.join('--' + n for n in unknown)}; "
            f"hyperparameters are its options without dashes: "
            f"{', '.join(sorted(valid_options - JOB_OWNED_OPTIONS))}"
        )


def check_image_fits_instance(image_uri: str, instance_type: str) -> None:
    tag = image_uri.rpartition(":")[2]
    gpu = bool(GPU_INSTANCE.match(instance_type))
    if gpu and "-cpu-" in tag:
        raise JobsError(
            f"{instance_type} has GPUs but the image {image_uri} is a CPU build: pass a "
            "-gpu- image with --image-uri (or set training_image_tag in Terraform)"
        )
    if not gpu and "-gpu-" in tag:
        raise JobsError(f"{instance_type} has no GPU but the image {image_uri} is a GPU build")


@dataclass(frozen=True)
class Resources:
    """Instances and limits of a training job (or of each trial of a tuning job)."""

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_s: int = 4 * 3600
    spot: bool = False
    max_wait_s: int | None = None

    def __post_init__(self) -> None:
        if not self.instance_type.startswith("ml."):
            raise JobsError(f"--instance-type {self.instance_type!r}: expected e.g. ml.m5.xlarge")
        for flag, value in (
            ("--instance-count", self.instance_count),
            ("--volume-size", self.volume_size_gb),
            ("--max-runtime", self.max_runtime_s),
        ):
            if value < 1:
                raise JobsError(f"{flag} must be at least 1, got {value}")
        if self.max_wait_s is not None and not self.spot:
            raise JobsError("--max-wait applies to spot training only: add --spot")
        if self.max_wait_s is not None and self.max_wait_s < self.max_runtime_s:
            raise JobsError(
                f"--max-wait ({self.max_wait_s} s) must be at least --max-runtime "
                f"({self.max_runtime_s} s): it includes the time spent waiting for spot capacity"
            )

    def stopping_condition(self) -> dict:
        condition = {"MaxRuntimeInSeconds": self.max_runtime_s}
        if self.spot:
            condition["MaxWaitTimeInSeconds"] = self.max_wait_s or 2 * self.max_runtime_s
        return condition

    def resource_config(self) -> dict:
        return {
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
            "VolumeSizeInGB": self.volume_size_gb,
        }


@dataclass(frozen=True)
class SearchSpace:
    """What a tuning job explores: learning rate (log scale), batch size, epochs."""

    lr_range: tuple[float, float] = (1e-4, 1e-2)
    batch_sizes: tuple[int, ...] = (16, 32, 64)
    epochs_range: tuple[int, int] = (2, 8)

    def __post_init__(self) -> None:
        low, high = self.lr_range
        if not 0 < low < high:
            raise JobsError(f"--lr-range needs 0 < MIN < MAX, got {low} {high}")
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise JobsError(f"--batch-sizes must be positive integers, got {self.batch_sizes}")
        low, high = self.epochs_range
        if not 1 <= low <= high:
            raise JobsError(f"--epochs-range needs 1 <= MIN <= MAX, got {low} {high}")

    def parameter_ranges(self) -> dict:
        return {
            "ContinuousParameterRanges": [
                {
                    "Name": "lr",
                    "MinValue": str(self.lr_range[0]),
                    "MaxValue": str(self.lr_range[1]),
                    "ScalingType": "Logarithmic",
                }
            ],
            "CategoricalParameterRanges": [
                {"Name": "batch-size", "Values": [str(b) for b in sorted(set(self.batch_sizes))]}
            ],
            "IntegerParameterRanges": [
                {
                    "Name": "epochs",
                    "MinValue": str(self.epochs_range[0]),
                    "MaxValue": str(self.epochs_range[1]),
                    "ScalingType": "Linear",
                }
            ],
        }


@dataclass(frozen=True)
class JobSetting:
    """Where a job's pieces live."""

    role_arn: str
    image_uri: str
    region: str
    bucket: str
    code_uri: str
    data_uri: str
    features_uri: str | None = None  # a features job's cache: trials train on it, not images

    @property
    def output_uri(self) -> str:
        return f"s3://{self.bucket}/models/"

    def checkpoint_uri(self, job: str) -> str:
        return f"s3://{self.bucket}/checkpoints/{job}/"

    def features_uri_of(self, job: str) -> str:
        """Where a features job uploads its cache."""
        return f"s3://{self.bucket}/features/{job}/"


def script_hyperparameters(setting: JobSetting) -> dict[str, object]:
    return {
        "sagemaker_program": TRAINING_ENTRY_POINT,
        "sagemaker_submit_directory": setting.code_uri,
        "sagemaker_region": setting.region,
        "sagemaker_container_log_level": 20,
    }


def channel(name: str, uri: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                # Every instance gets the whole channel; DistributedSampler shards it.
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def input_channels(data_uri: str, features_uri: str | None = None) -> list[dict]:
    """The train, valid and test image channels, or the one features channel."""
    if features_uri is not None:
        return [channel(FEATURES_CHANNEL, features_uri)]
    base = data_uri.rstrip("/")
    return [channel(split, f"{base}/{split}/") for split in DATA_CHANNELS]


def _job_definition(job: str, setting: JobSetting, resources: Resources) -> dict:
    definition = {
        "RoleArn": setting.role_arn,
        "InputDataConfig": input_channels(setting.data_uri, setting.features_uri),
        "OutputDataConfig": {"S3OutputPath": setting.output_uri},
        "ResourceConfig": resources.resource_config(),
        "StoppingCondition": resources.stopping_condition(),
        "EnableManagedSpotTraining": resources.spot,
    }
    if resources.spot:
        definition["CheckpointConfig"] = {
            "S3Uri": setting.checkpoint_uri(job),
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        }
    return definition


def algorithm_specification(image_uri: str) -> dict:
    return {
        "TrainingImage": image_uri,
        "TrainingInputMode": "File",
        "MetricDefinitions": METRIC_DEFINITIONS,
    }


def training_job_request(
    name: str, setting: JobSetting, hyperparameters: dict[str, object], resources: Resources
) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm_specification(setting.image_uri),
        "HyperParameters": encode_hyperparameters(
            {**hyperparameters, **script_hyperparameters(setting)}
        ),
        **_job_definition(name, setting, resources),
    }


def features_job_hyperparameters(
    setting: JobSetting, job: str, shaping: dict[str, object]
) -> dict[str, object]:
    """A features job: ml/train.py computing the cache of every split, uploading it, and
    stopping before training."""
    return {
        **shaping,
        **HEAD_ONLY,
        "features-only": True,
        "features-s3-uri": setting.features_uri_of(job),
    }


def tuning_job_request(
    name: str,
    setting: JobSetting,
    static_hyperparameters: dict[str, object],
    space: SearchSpace,
    resources: Resources,
    max_jobs: int = 6,
    max_parallel_jobs: int = 3,
    strategy: str = "Bayesian",
) -> dict:
    if max_jobs < 1 or not 1 <= max_parallel_jobs <= max_jobs:
        raise JobsError(
            f"need 1 <= --max-parallel-jobs <= --max-jobs, got {max_parallel_jobs} and {max_jobs}"
        )
    tuned = sorted(set(static_hyperparameters) & set(TUNED_HYPERPARAMETERS))
    if tuned:
        raise JobsError(
            f"{', '.join(tuned)} are tuned: set their ranges (--lr-range, --batch-sizes, "
            "--epochs-range) instead of --hyperparameter"
        )
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": TUNING_OBJECTIVE,
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": max_parallel_jobs,
            },
            "ParameterRanges": space.parameter_ranges(),
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": encode_hyperparameters(
                {**static_hyperparameters, **script_hyperparameters(setting)}
            ),
            "AlgorithmSpecification": algorithm_specification(setting.image_uri),
            **_job_definition(name, setting, resources),
        },
    }


def is_model_package(source: str) -> bool:
    return ":model-package/" in source


def served_model(container: dict) -> str | None:
    """What a model's container serves: its model package, or its model data."""
    return container.get("ModelPackageName") or container.get("ModelDataUrl")


def serving_environment(region: str) -> dict[str, str]:
    """The inference container's settings, as modules/sagemaker_endpoint sets them for a
    network-isolated model: our handler, and no S3 reads (an isolated container has none)."""
    return {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_REGION": region,
        "S3_INPUT_ENABLED": "false",
    }


def model_request(name: str, current_model: dict, source: str) -> dict:
    """A copy of the endpoint's current model that serves another model.tar.gz, or a model
    package (which brings its own image, model data and environment)."""
    if is_model_package(source):
        container = {"ModelPackageName": source}
    else:
        kept = {
            key: value
            for key, value in current_model["PrimaryContainer"].items()
            if key not in ("ModelDataUrl", "ModelDataSource", "ModelPackageName")
        }
        container = {**kept, "ModelDataUrl": source}
    request = {
        "ModelName": name,
        "ExecutionRoleArn": current_model["ExecutionRoleArn"],
        "PrimaryContainer": container,
        "EnableNetworkIsolation": current_model.get("EnableNetworkIsolation", False),
    }
    if current_model.get("VpcConfig", {}).get("Subnets"):
        request["VpcConfig"] = current_model["VpcConfig"]
    return request


def endpoint_config_request(name: str, current_config: dict, model_name: str) -> dict:
    """The endpoint's current configuration with every variant serving ``model_name``
    (same variant names and instance types, so auto scaling allows the update)."""
    request = {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {**variant, "ModelName": model_name} for variant in current_config["ProductionVariants"]
        ],
    }
    for key in ("KmsKeyId", "DataCaptureConfig", "AsyncInferenceConfig", "ExplainerConfig"):
        if current_config.get(key):
            request[key] = current_config[key]
    return request
