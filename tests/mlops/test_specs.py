"""Names, options and request bodies of ``python -m mlops``: the pure part."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import hcl2
import pytest

from ml.metrics import METRIC_DEFINITIONS, TUNING_OBJECTIVE
from mlops import JobsError, specs, tfvars
from mlops.jobs import train_script_options

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 9, 5, 7, tzinfo=UTC)
SETTING = specs.JobSetting(
    role_arn="arn:aws:iam::123456789012:role/dog-breeds-training",
    image_uri="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.6.0-cpu-py312",
    region="us-east-1",
    bucket="data-bucket",
    code_uri="s3://data-bucket/code/job/code.tar.gz",
    data_uri="s3://data-bucket/data/",
)


def test_names_are_prefix_kind_and_timestamp():
    assert specs.job_name("dog-breeds", "tune", NOW) == "dog-breeds-tune-261124-090507"
    assert specs.job_name("dog-breeds", "train", NOW) == "dog-breeds-train-261124-090507"


def test_a_prefix_too_long_for_a_tuning_job_says_how_long_it_may_be():
    with pytest.raises(JobsError, match=r"32 characters .* use at most 13 characters"):
        specs.job_name("a-very-long-project", "tune", NOW)
    assert len(specs.job_name("a-very-long-project", "train", NOW)) <= 63


@pytest.mark.parametrize("prefix", ["dog_breeds", "-dog", "dog breeds", ""])
def test_prefixes_sagemaker_rejects_are_refused(prefix):
    with pytest.raises(JobsError, match="--prefix"):
        specs.job_name(prefix, "train", NOW)


def test_hyperparameters_travel_json_encoded_and_come_back():
    values = {"arch": "resnet18", "lr": 0.003, "batch-size": 32, "pretrained": False}
    encoded = specs.encode_hyperparameters(values)
    assert encoded == {
        "arch": '"resnet18"',
        "lr": "0.003",
        "batch-size": "32",
        "pretrained": "false",
    }
    # The toolkit's own entries are left out; values tuned by SageMaker arrive unquoted.
    encoded.update({"sagemaker_program": '"ml/train.py"', "epochs": "7"})
    assert specs.decode_hyperparameters(encoded) == {**values, "epochs": 7}


def test_assignments_parse_values_as_json_where_they_are():
    assert specs.parse_assignments(["arch=resnet18", "lr=0.01", "pretrained=false"]) == {
        "arch": "resnet18",
        "lr": 0.01,
        "pretrained": False,
    }
    with pytest.raises(JobsError, match="expected NAME=VALUE"):
        specs.parse_assignments(["arch"])


def test_hyperparameter_names_are_the_training_scripts_options():
    options = train_script_options()
    assert {"lr", "batch-size", "epochs", "arch", "freeze-backbone", "image-size"} <= options
    specs.check_hyperparameter_names({"arch", "image-size"}, options)
    with pytest.raises(JobsError, match=r"no option\(s\) --learning-rate"):
        specs.check_hyperparameter_names({"learning-rate"}, options)
    with pytest.raises(JobsError, match="model-dir are set by the job itself"):
        specs.check_hyperparameter_names({"model-dir"}, options)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"instance_count": 0}, "--instance-count must be at least 1"),
        ({"max_wait_s": 9000}, "--max-wait applies to spot training only"),
        ({"spot": True, "max_runtime_s": 7200, "max_wait_s": 3600}, "must be at least"),
        ({"instance_type": "m5.xlarge"}, "expected e.g. ml.m5.xlarge"),
    ],
)
def test_bad_resources_are_refused(changes, message):
    with pytest.raises(JobsError, match=message):
        specs.Resources(**changes)


def test_spot_waits_twice_the_runtime_unless_told():
    assert specs.Resources(spot=True, max_runtime_s=3600).stopping_condition() == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    assert specs.Resources().stopping_condition() == {"MaxRuntimeInSeconds": 14400}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr_range": (0.0, 0.1)}, "--lr-range needs 0 < MIN < MAX"),
        ({"lr_range": (0.1, 0.01)}, "--lr-range"),
        ({"batch_sizes": (0, 32)}, "--batch-sizes"),
        ({"epochs_range": (5, 2)}, "--epochs-range"),
    ],
)
def test_bad_search_spaces_are_refused(changes, message):
    with pytest.raises(JobsError, match=message):
        specs.SearchSpace(**changes)


def test_tuning_request_shape():
    request = specs.tuning_job_request(
        "dog-breeds-tune-261124-090507",
        SETTING,
        {"arch": "resnet50"},
        specs.SearchSpace(),
        specs.Resources(spot=True),
    )
    config = request["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == TUNING_OBJECTIVE
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 3}
    assert config["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.01", "ScalingType": "Logarithmic"}
    ]
    definition = request["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == METRIC_DEFINITIONS
    assert definition["StaticHyperParameters"]["arch"] == '"resnet50"'
    assert definition["CheckpointConfig"] == {
        "S3Uri": "s3://data-bucket/checkpoints/dog-breeds-tune-261124-090507/",
        "LocalPath": "/opt/ml/checkpoints",
    }


def test_tuned_hyperparameters_cannot_also_be_fixed():
    with pytest.raises(JobsError, match="lr are tuned"):
        specs.tuning_job_request("n", SETTING, {"lr": 0.1}, specs.SearchSpace(), specs.Resources())
    with pytest.raises(JobsError, match="--max-parallel-jobs"):
        specs.tuning_job_request(
            "n", SETTING, {}, specs.SearchSpace(), specs.Resources(), max_jobs=2,
            max_parallel_jobs=3,
        )  # fmt: skip


def test_cpu_images_are_not_sent_to_gpu_instances():
    cpu = SETTING.image_uri
    specs.check_image_fits_instance(cpu, "ml.m5.xlarge")
    with pytest.raises(JobsError, match="has GPUs but the image"):
        specs.check_image_fits_instance(cpu, "ml.g5.xlarge")
    with pytest.raises(JobsError, match="has no GPU"):
        specs.check_image_fits_instance(cpu.replace("-cpu-", "-gpu-"), "ml.c5.2xlarge")


@pytest.mark.parametrize(
    ("instance_type", "x86_int8"),
    [
        ("ml.m5.large", True),
        ("ml.c5.xlarge", True),
        ("ml.c5n.2xlarge", True),
        ("ml.c6i.4xlarge", True),
        ("ml.t2.medium", True),
        ("ml.c7g.xlarge", False),  # Graviton: a "g" after the generation
        ("ml.m6gd.large", False),
        ("ml.r8g.2xlarge", False),
        ("ml.g4dn.xlarge", False),  # NVIDIA
        ("ml.g5.12xlarge", False),
        ("ml.p4d.24xlarge", False),
        ("ml.inf2.xlarge", False),  # Inferentia, Trainium
        ("ml.trn1.2xlarge", False),
    ],
)
def test_which_instance_types_serve_an_int8_archive_in_int8(instance_type, x86_int8):
    """The families the endpoint module sorts by name (modules/sagemaker_endpoint/instances.tf)."""
    assert (specs.NO_X86_INT8.match(instance_type) is None) == x86_int8


def test_the_new_model_copies_the_current_one_but_for_its_data():
    current = {
        "ModelName": "dog-breeds-1a2b3c4d",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/dog-breeds-endpoint",
        "PrimaryContainer": {
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0",
            "ModelDataUrl": "s3://data-bucket/models/run-1/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": [], "SecurityGroupIds": []},
    }
    request = specs.model_request("new", current, "s3://data-bucket/models/run-2/model.tar.gz")
    assert request == {
        "ModelName": "new",
        "ExecutionRoleArn": current["ExecutionRoleArn"],
        "PrimaryContainer": {
            "Image": current["PrimaryContainer"]["Image"],
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            "ModelDataUrl": "s3://data-bucket/models/run-2/model.tar.gz",
        },
        "EnableNetworkIsolation": True,
    }


def test_tfvars_keep_every_other_line():
    text = 'name = "dog-breeds"\n# the model\nmodel_data_url = null\ntags = { Team = "ml" }\n'
    url = "s3://data-bucket/models/run-2/model.tar.gz"
    updated, removed = tfvars.set_variable(text, "model_data_url", url, remove="model_package_arn")
    assert (updated, removed) == (text.replace("null", json.dumps(url)), False)
    appended, _ = tfvars.set_variable('name = "dog-breeds"', "model_data_url", url)
    parsed = hcl2.loads(appended)
    assert parsed["model_data_url"].strip('"') == url
    assert parsed["name"].strip('"') == "dog-breeds"
    with pytest.raises(JobsError, match="assigned 2 times"):
        tfvars.set_variable(text + "model_data_url = null\n", "model_data_url", url)


def test_the_new_endpoint_configuration_changes_only_the_model():
    current = {
        "EndpointConfigName": "dog-breeds-5e6f7a8b",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "dog-breeds-1a2b3c4d",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 20,
            }
        ],
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
        "CreationTime": "2026-11-24T09:00:00Z",
    }
    request = specs.endpoint_config_request("new-config", current, "new-model")
    assert request == {
        "EndpointConfigName": "new-config",
        "ProductionVariants": [
            {**current["ProductionVariants"][0], "ModelName": "new-model"},
        ],
        "KmsKeyId": current["KmsKeyId"],
    }
