"""Deploying new models to the endpoint module on the emulator, through `make deploy`.

One endpoint (the module and its monitoring, `fixtures/endpoint`) lives through the tests of
this file, in order: a new model keeps the instance count auto scaling chose; an instance-type
change deregisters auto scaling around the update (SageMaker refuses the update otherwise, and
the emulator's UpdateEndpoint enforces that rule); a deployment SageMaker rolled back makes
`python -m mlops verify` fail; a registered version is deployed through the CLI; the model
monitor reads its captures; a shadow candidate is promoted; the endpoint switches to
serverless, then to asynchronous. AWS rules:
"Update endpoints that use auto scaling"
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html) and
UpdateEndpoint's RetainAllVariantProperties, which the AWS provider never sends
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html).
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local_stack.demo.terraform import REPO_ROOT, Terraform
from local_stack.emulator import client, client_factory
from mlops.cli import main
from scripts.build_lambda_zip import build as build_lambda_zip
from tests.mlops.test_registry import output_archive
from tests.model_monitor.records import answer, photo, put_captures, record

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.slow]

FIXTURE = Path(__file__).parent / "fixtures" / "endpoint"
OFF_HOURS = {
    "scale_down": "cron(0 19 ? * MON-FRI *)",
    "scale_up": "cron(0 7 ? * MON-FRI *)",
    "timezone": "Europe/Berlin",
}
NEEDS = {
    "scaling_tags",
    "sagemaker_update_endpoint",
    "sagemaker_deployment_config",
    "sagemaker_empty_data_capture",
    "sagemaker_model_description",
    "sagemaker_unique_names",
    "sagemaker_model_registry",
}


@dataclass
class EndpointStack:
    terraform: Terraform
    name: str
    emulator: object
    package_path: Path  # the Lambda zip the model monitor runs
    variables: dict = field(default_factory=dict)

    def model(self, run: str) -> str:
        return f"s3://{self.name}-data/models/{run}/model.tar.gz"

    def var_file(self, variables: dict) -> Path:
        self.variables = {"name": self.name, **variables}
        path = self.terraform.workdir / "deploy.tfvars.json"
        path.write_text(
            json.dumps({**self.variables, "monitor_package_path": str(self.package_path)})
        )
        return path

    def apply(self, **variables) -> list[tuple[str, str, str]]:
        """terraform apply; the (event, resource, action) sequence of its -json log."""
        var_file = self.var_file(variables)
        result = self.terraform.run(
            "apply", "-auto-approve", "-input=false", "-json", f"-var-file={var_file}"
        )
        events = []
        for line in result.stdout.splitlines():
            message = json.loads(line)
            if message["type"] in ("apply_start", "apply_complete"):
                hook = message["hook"]
                events.append((message["type"], hook["resource"]["addr"], hook["action"]))
        return events

    def make_deploy(self, *more_var_files: Path, **variables) -> subprocess.CompletedProcess:
        var_files = " ".join(f"-var-file={f}" for f in (self.var_file(variables), *more_var_files))
        return subprocess.run(
            [
                "make",
                "--no-print-directory",
                "deploy",
                f"TF_DIR={self.terraform.workdir}",
                f"TF_APPLY_ARGS=-auto-approve -input=false {var_files}",
            ],
            cwd=REPO_ROOT,
            env=self.terraform.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def verify(self) -> subprocess.CompletedProcess:
        flags = ["--terraform-dir", str(self.terraform.workdir), "--poll-seconds", "1"]
        return subprocess.run(
            [sys.executable, "-m", "mlops", "verify", *flags, "--wait-timeout", "5"],
            cwd=REPO_ROOT,
            env=self.terraform.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def destroy(self) -> None:
        var_file = self.var_file({k: v for k, v in self.variables.items() if k != "name"})
        self.terraform.run("destroy", "-auto-approve", "-input=false", f"-var-file={var_file}")

    def drift(self) -> dict[str, set[str]]:
        """What a re-plan with the last variables would change, by resource."""
        var_file = self.var_file({k: v for k, v in self.variables.items() if k != "name"})
        return self.terraform.drift(f"-var-file={var_file}")


@pytest.fixture(scope="module")
def endpoint_stack(tmp_path_factory, emulator, terraform_binary):
    emulator.require(NEEDS, "the deployment tests", client_factory(emulator))
    root = tmp_path_factory.mktemp("tf-deploy")
    shutil.copytree(
        REPO_ROOT / "terraform" / "modules",
        root / "terraform" / "modules",
        ignore=shutil.ignore_patterns(".terraform*", "tests"),
    )
    shutil.copytree(FIXTURE, root / "endpoint")
    terraform = Terraform(root / "endpoint")
    terraform.use_emulator(emulator)
    terraform.init()
    package = build_lambda_zip(REPO_ROOT / "lambda", root / "lambda.zip")
    stack = EndpointStack(terraform, f"dep-{uuid.uuid4().hex[:6]}", emulator, package)
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=f"{stack.name}-data")
    for split in ("train", "valid", "test"):
        s3.put_object(Bucket=f"{stack.name}-data", Key=f"data/{split}/001.A/1.jpg", Body=b"jpeg")
    stack.apply(model_data_url=stack.model("run-1"), off_hours=OFF_HOURS)
    yield stack
    # A group that holds versions cannot be deleted (SageMaker answers ConflictException):
    # its versions go first, as the model_registry module's README says.
    sagemaker = client("sagemaker", emulator)
    for package in sagemaker.list_model_packages(ModelPackageGroupName=f"{stack.name}-models")[
        "ModelPackageSummaryList"
    ]:
        sagemaker.delete_model_package(ModelPackageName=package["ModelPackageArn"])
    stack.destroy()
    sagemaker = client("sagemaker", emulator)
    assert not [
        e for e in sagemaker.list_endpoints()["Endpoints"] if e["EndpointName"] == stack.name
    ]
    assert not [
        c
        for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
        if c["EndpointConfigName"].startswith(stack.name)
    ]
    assert not client("cloudwatch", emulator).describe_alarms(AlarmNamePrefix=stack.name)[
        "MetricAlarms"
    ]


def variant(emulator, name: str) -> dict:
    return client("sagemaker", emulator).describe_endpoint(EndpointName=name)["ProductionVariants"][
        0
    ]


def configured_variant(emulator, name: str) -> dict:
    sagemaker = client("sagemaker", emulator)
    config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    return sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]


def test_the_first_deployment_verifies_and_replans_clean(endpoint_stack, emulator):
    result = endpoint_stack.verify()
    assert result.returncode == 0, result.stderr
    assert f"serving {endpoint_stack.model('run-1')} on 1 instance(s)" in result.stderr
    actions = client("application-autoscaling", emulator).describe_scheduled_actions(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{endpoint_stack.name}/variant/AllTraffic",
    )["ScheduledActions"]
    schedules = {
        a["Schedule"]: (a["ScalableTargetAction"]["MinCapacity"], a["Timezone"]) for a in actions
    }
    assert schedules == {
        "cron(0 19 ? * MON-FRI *)": (1, "Europe/Berlin"),
        "cron(0 7 ? * MON-FRI *)": (1, "Europe/Berlin"),
    }
    assert endpoint_stack.drift() == {}


def test_make_deploy_keeps_the_instances_auto_scaling_chose(endpoint_stack, emulator):
    # What Application Auto Scaling calls when it scales the variant out.
    client("sagemaker", emulator).update_endpoint_weights_and_capacities(
        EndpointName=endpoint_stack.name,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 3}],
    )
    result = endpoint_stack.make_deploy(model_data_url=endpoint_stack.model("run-2"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the new fleet starts at the 3 instance(s) auto scaling chose" in result.stdout
    assert f"serving {endpoint_stack.model('run-2')} on 3 instance(s)" in result.stderr
    assert configured_variant(emulator, endpoint_stack.name)["InitialInstanceCount"] == 3
    assert variant(emulator, endpoint_stack.name)["DesiredInstanceCount"] == 3

    # Auto scaling moving on does not make a deployment by itself.
    endpoint_stack.variables["endpoint_current_instance_count"] = 2
    drift = endpoint_stack.drift()
    assert "module.endpoint.aws_sagemaker_endpoint_configuration.this" not in drift
    assert "module.endpoint.aws_sagemaker_endpoint.this" not in drift


def test_an_instance_type_change_deregisters_auto_scaling_around_the_update(
    endpoint_stack, emulator
):
    events = endpoint_stack.apply(
        model_data_url=endpoint_stack.model("run-2"),
        instance_type="ml.c5.large",
        endpoint_current_instance_count=3,
    )
    at = {event: index for index, event in enumerate(events)}
    target = "module.endpoint.aws_appautoscaling_target.this[0]"
    policy = "module.endpoint.aws_appautoscaling_policy.invocations[0]"
    endpoint = "module.endpoint.aws_sagemaker_endpoint.this"
    # Scaling policy and target go first, the endpoint moves, then both come back.
    assert at[("apply_complete", policy, "delete")] < at[("apply_start", target, "delete")]
    assert at[("apply_complete", target, "delete")] < at[("apply_start", endpoint, "update")]
    assert at[("apply_complete", endpoint, "update")] < at[("apply_start", target, "create")]
    assert at[("apply_complete", target, "create")] < at[("apply_start", policy, "create")]

    assert configured_variant(emulator, endpoint_stack.name)["InstanceType"] == "ml.c5.large"
    assert variant(emulator, endpoint_stack.name)["DesiredInstanceCount"] == 3
    scaling = client("application-autoscaling", emulator)
    resource_id = f"endpoint/{endpoint_stack.name}/variant/AllTraffic"
    (registered,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id]
    )["ScalableTargets"]
    assert (registered["MinCapacity"], registered["MaxCapacity"]) == (1, 3)
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource_id)[
        "ScalingPolicies"
    ]


def test_verify_fails_on_a_deployment_sagemaker_rolled_back(endpoint_stack, emulator):
    sagemaker, cloudwatch = client("sagemaker", emulator), client("cloudwatch", emulator)
    applied = sagemaker.describe_endpoint(EndpointName=endpoint_stack.name)["EndpointConfigName"]
    current = sagemaker.describe_endpoint_config(EndpointConfigName=applied)
    model = sagemaker.describe_model(ModelName=current["ProductionVariants"][0]["ModelName"])
    previous = f"{endpoint_stack.name}-previous"
    # What a rollback leaves: the endpoint InService on the old fleet, serving the old model,
    # and the alarm that tripped it still firing.
    sagemaker.create_model(
        ModelName=previous,
        ExecutionRoleArn=model["ExecutionRoleArn"],
        PrimaryContainer={
            **model["PrimaryContainer"],
            "ModelDataUrl": endpoint_stack.model("run-1"),
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=previous,
        ProductionVariants=[{**current["ProductionVariants"][0], "ModelName": previous}],
    )
    sagemaker.update_endpoint(EndpointName=endpoint_stack.name, EndpointConfigName=previous)
    alarm = f"{endpoint_stack.name}-rollback-errors-5xx"
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    try:
        result = endpoint_stack.verify()
        assert result.returncode == 1
        (line,) = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        assert f"is InService on {previous}, not {applied} as applied" in line
        assert "the deployment was rolled back" in line
        assert f"in ALARM: {alarm}" in line
        assert "Traceback" not in result.stderr
    finally:
        sagemaker.update_endpoint(EndpointName=endpoint_stack.name, EndpointConfigName=applied)
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")
        sagemaker.delete_endpoint_config(EndpointConfigName=previous)
        sagemaker.delete_model(ModelName=previous)
    assert endpoint_stack.verify().returncode == 0


def test_train_register_approve_deploy_and_verify_through_the_cli(
    endpoint_stack, emulator, trained_model, caplog
):
    """What a data scientist and a reviewer do: a training job's model, registered, refused
    while pending, approved, then deployed from the registry by Terraform and verified."""
    workdir = str(endpoint_stack.terraform.workdir)

    def mlops(*args: str) -> str:
        return main(
            [args[0], "--terraform-dir", workdir, "--prefix", endpoint_stack.name, *args[1:]]
        )

    job = mlops("train", "--hyperparameter", "arch=resnet18")
    # What the job's container would upload: its model and ml/train.py's metrics.
    s3, bucket = client("s3", emulator), f"{endpoint_stack.name}-data"
    key = f"models/{job}/output/"
    s3.put_object(Bucket=bucket, Key=f"{key}model.tar.gz", Body=b"model")
    s3.put_object(
        Bucket=bucket,
        Key=f"{key}output.tar.gz",
        Body=output_archive(
            (trained_model.model_dir / "metrics.json").read_bytes(),
            (trained_model.model_dir / "baseline.json").read_bytes(),
        ),
    )
    package = mlops("register", "--from-job", job)
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit):
        mlops("deploy", "--model-package", package)
    assert f"{package} is PendingManualApproval, not Approved" in caplog.text
    mlops("approve", package, "--note", "reviewed")
    tfvars = endpoint_stack.terraform.workdir / "registry.tfvars"
    mlops("deploy", "--model-package", package, "--tfvars", str(tfvars))

    result = endpoint_stack.make_deploy(
        tfvars, instance_type="ml.c5.large", endpoint_current_instance_count=3
    )
    endpoint_stack.variables["model_package_arn"] = package  # what registry.tfvars holds
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"serving {package} on 3 instance(s)" in result.stderr, result.stdout + result.stderr
    model = client("sagemaker", emulator).describe_model(
        ModelName=configured_variant(emulator, endpoint_stack.name)["ModelName"]
    )
    assert model["PrimaryContainer"]["ModelPackageName"] == package
    assert "ModelDataUrl" not in model["PrimaryContainer"]  # the package's own
    # ... with the model server's settings for ml.c5.large (2 vCPUs) beside it.
    environment = model["PrimaryContainer"]["Environment"]
    assert environment["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert environment["OMP_NUM_THREADS"] == "1"
    assert endpoint_stack.drift() == {}


def test_the_monitor_breaches_its_drift_alarm_on_shifted_traffic_only(
    endpoint_stack, emulator, trained_model, local_mode
):
    """The deployed monitor (run by local mode) on captures of the version the registry test
    deployed: traffic answered as its test split was publishes a drift score within the
    alarm's own threshold, photos of one breed (tiny, dark PNGs) one past it (the alarm fires
    once alarm_evaluation_periods windows in a row are past it). The emulator evaluates no
    alarm: the alarm's definition is read and the published datapoints checked against it."""
    outputs = endpoint_stack.terraform.outputs()
    function, alarms = outputs["model_monitor_function_name"], outputs["model_monitor_alarm_names"]
    baseline = json.loads((trained_model.model_dir / "baseline.json").read_text())
    breeds = baseline["classes"]
    generator = random.Random(11)
    # Ten minutes ago: a window ends five minutes before its run (capture files come late).
    when = datetime.now(UTC) - timedelta(minutes=10)
    usual = [
        record(photo((48, 48)), answer(breed, 0.95), when=when)  # as the training photos
        for breed in generator.choices(breeds, weights=baseline["test"]["predicted"], k=200)
    ]
    put_captures(client("s3", emulator), endpoint_stack.name, usual, when)
    assert not breaching(emulator, alarms["model-drift"], run_monitor(emulator, function))

    tiny = photo((24, 24), kind="PNG", shade=5)
    shifted = [record(tiny, answer(breeds[0], 0.26), when=when, content_type="image/png")] * 400
    put_captures(client("s3", emulator), endpoint_stack.name, shifted, when)
    assert breaching(emulator, alarms["model-drift"], run_monitor(emulator, function))
    assert breaching(emulator, alarms["model-low-confidence"], {})


def run_monitor(emulator, function: str) -> dict:
    """The schedule's invocation: the empty event, published."""
    answer = client("lambda", emulator).invoke(FunctionName=function, Payload=b"{}")
    report = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, report
    assert report["published"], report
    assert report["model"].endswith("-models/1"), report  # the registry test's version
    return report


def breaching(emulator, alarm_name: str, report: dict) -> bool:
    """Whether the datapoints published for the alarm's metric cross its threshold as its
    comparison reads it (the last report's figure among them)."""
    cloudwatch = client("cloudwatch", emulator)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    points = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm["Dimensions"],
        StartTime=datetime.now(UTC) - timedelta(minutes=10),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=[alarm["Statistic"]],
    )["Datapoints"]
    values = [point[alarm["Statistic"]] for point in points]
    if alarm["MetricName"] in report.get("metrics", {}):
        assert report["metrics"][alarm["MetricName"]] <= max(values)
    return bool(values) and max(values) > alarm["Threshold"]


def test_a_shadow_candidate_that_agrees_is_promoted_and_deployed(endpoint_stack, emulator):
    """The operator's shadow run on the stack, as the README's "Before going live" says it:
    `mlops shadow start` names the registered version, `make deploy` runs it as the Shadow
    variant ("Create a shadow test": one production and one shadow variant) and captures every
    request, `report` compares, `promote` hands it to `make deploy`, which serves it (blue/green)
    with the shadow gone; each state re-plans clean. This stack's models are no real archives,
    so the two variants' captures and ModelLatency are written here as SageMaker writes them;
    tests/mlops/test_shadow.py sends real traffic through local mode to real models."""
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    name, workdir = endpoint_stack.name, str(endpoint_stack.terraform.workdir)
    live = endpoint_stack.variables["model_package_arn"]  # the registry test's version

    def mlops(command: str, *args: str) -> str:
        return main([command, "--terraform-dir", workdir, "--prefix", name, *args])

    def shadow(action: str, *args: str) -> str:
        return mlops("shadow", action, *args)

    def deployed(tfvars: Path, **variables) -> dict:
        result = endpoint_stack.make_deploy(tfvars, instance_type="ml.c5.large", **variables)
        assert result.returncode == 0, result.stdout + result.stderr
        return sagemaker.describe_endpoint_config(
            EndpointConfigName=sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
        )

    # The candidate: the same job registered again and approved (version 2).
    model_data = sagemaker.describe_model_package(ModelPackageName=live)["InferenceSpecification"][
        "Containers"
    ][0]["ModelDataUrl"]
    candidate = mlops("register", "--from-job", model_data.split("/models/")[1].split("/")[0])
    mlops("approve", candidate, "--note", "shadow candidate")

    tfvars = endpoint_stack.terraform.workdir / "shadow.tfvars"
    shadow("start", "--model-package", candidate, "--tfvars", str(tfvars))
    config = deployed(tfvars, model_package_arn=live)
    endpoint_stack.variables["endpoint_shadow_model_package_arn"] = candidate  # shadow.tfvars
    (shadow_variant,) = config["ShadowProductionVariants"]
    assert (shadow_variant["VariantName"], shadow_variant["InitialVariantWeight"]) == ("Shadow", 1)
    model = sagemaker.describe_model(ModelName=shadow_variant["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == candidate
    (production,) = config["ProductionVariants"]
    assert production["VariantName"] == "AllTraffic"
    served = sagemaker.describe_model(ModelName=production["ModelName"])
    assert served["PrimaryContainer"]["ModelPackageName"] == live
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["Shadow"]
    assert endpoint_stack.drift() == {}

    answered_alike(s3, client("cloudwatch", emulator), name, requests=30)
    report = json.loads(shadow("report", "--since", "1h"))
    assert (report["paired"], report["agreement"]) == (30, 1.0)
    assert (report["live_model"], report["candidate"]) == (live, candidate)
    shadow("promote", "--since", "1h", "--min-requests", "30", "--tfvars", str(tfvars))
    config = deployed(tfvars)
    endpoint_stack.variables = {  # what deploy.tfvars.json and shadow.tfvars now hold
        "name": name,
        "instance_type": "ml.c5.large",
        "model_package_arn": candidate,
    }
    assert "ShadowProductionVariants" not in config or not config["ShadowProductionVariants"]
    (production,) = config["ProductionVariants"]
    served = sagemaker.describe_model(ModelName=production["ModelName"])
    assert served["PrimaryContainer"]["ModelPackageName"] == candidate
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert endpoint_stack.terraform.outputs().get("endpoint_shadow") is None
    assert endpoint_stack.drift() == {}


def answered_alike(s3, cloudwatch, name: str, requests: int) -> None:
    """``requests`` requests both variants answered with the same breed, as data capture
    records them (paired by inference id), and each variant's ModelLatency."""
    when = datetime.now(UTC) - timedelta(minutes=5)
    image = photo((48, 48))
    for variant, probability, latency_us in (("AllTraffic", 0.9, 40_000), ("Shadow", 0.8, 44_000)):
        lines = [
            record(image, answer("001.A", probability), when=when, inference_id=f"request-{n}")
            for n in range(requests)
        ]
        put_captures(s3, name, lines, when, variant=variant)
        dimensions = [
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": variant},
        ]
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "ModelLatency",
                    "Dimensions": dimensions,
                    "Timestamp": when,
                    "Value": latency_us,
                    "Unit": "Microseconds",
                }
            ],
        )


def test_serverless_replaces_the_endpoint_without_auto_scaling(endpoint_stack, emulator):
    endpoint_stack.apply(
        model_data_url=endpoint_stack.model("run-2"), serverless={"memory_size_in_mb": 2048}
    )
    described = variant(emulator, endpoint_stack.name)
    assert described["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in configured_variant(emulator, endpoint_stack.name)
    assert not client("application-autoscaling", emulator).describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[f"endpoint/{endpoint_stack.name}/variant/AllTraffic"],
    )["ScalableTargets"]
    alarms = client("cloudwatch", emulator).describe_alarms(AlarmNamePrefix=endpoint_stack.name)
    assert f"{endpoint_stack.name}-endpoint-cold-starts" in {
        a["AlarmName"] for a in alarms["MetricAlarms"]
    }
    body = json.loads(
        client("cloudwatch", emulator).get_dashboard(DashboardName=endpoint_stack.name)[
            "DashboardBody"
        ]
    )
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Serverless: cold starts and concurrency" in titles
    result = endpoint_stack.verify()
    assert result.returncode == 0, result.stderr
    assert "on serverless, 2048 MB" in result.stderr
    assert endpoint_stack.drift() == {}


def test_async_replaces_the_endpoint_and_scales_on_its_backlog_from_zero(endpoint_stack, emulator):
    """The endpoint turned asynchronous ("Autoscale an asynchronous endpoint"): answers and
    failures under async/, topics under the alarm key, 0..3 instances, target tracking on the
    backlog per instance, and the step policy behind the HasBacklogWithoutCapacity alarm. The
    emulator evaluates no alarms: scaled to zero, a queued request's published datapoint is
    checked against the alarm's own definition."""
    name, bucket = endpoint_stack.name, f"{endpoint_stack.name}-data"
    endpoint_stack.apply(model_data_url=endpoint_stack.model("run-2"), asynchronous=True)
    sagemaker, cloudwatch = client("sagemaker", emulator), client("cloudwatch", emulator)
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    )
    outputs = config["AsyncInferenceConfig"]["OutputConfig"]
    assert outputs["S3OutputPath"] == f"s3://{bucket}/async/out/"
    assert outputs["S3FailurePath"] == f"s3://{bucket}/async/failed/"
    for topic in outputs["NotificationConfig"].values():
        attributes = client("sns", emulator).get_topic_attributes(TopicArn=topic)["Attributes"]
        assert attributes["KmsMasterKeyId"].startswith("arn:aws:kms:")
    assert "DataCaptureConfig" not in config

    scaling, resource = (
        client("application-autoscaling", emulator),
        f"endpoint/{name}/variant/AllTraffic",
    )
    (target,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    policies = {
        p["PolicyType"]: p
        for p in scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingPolicies"]
    }
    assert set(policies) == {"TargetTrackingScaling", "StepScaling"}
    tracking = policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"]
    assert (
        tracking["CustomizedMetricSpecification"]["MetricName"]
        == "ApproximateBacklogSizePerInstance"
    )
    step = policies["StepScaling"]["StepScalingPolicyConfiguration"]
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[f"{name}-has-backlog-without-capacity"])[
        "MetricAlarms"
    ]
    assert alarm["AlarmActions"] == [policies["StepScaling"]["PolicyARN"]]

    # Scaled in to zero (what auto scaling calls when the queue is empty), a request arrives.
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}],
    )
    client("s3", emulator).put_object(Bucket=bucket, Key="async/in/one.json", Body=b"{}")
    client("sagemaker-runtime", emulator).invoke_endpoint_async(
        EndpointName=name, InputLocation=f"s3://{bucket}/async/in/one.json"
    )
    latest = latest_datapoint(cloudwatch, alarm)
    assert latest >= alarm["Threshold"]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # Held for EvaluationPeriods minutes, that is ALARM: the step policy adds one instance.
    assert endpoint_stack.drift() == {}


def latest_datapoint(cloudwatch, alarm: dict) -> float:
    """The newest value of the alarm's metric, in the alarm's statistic and period."""
    now = time.time()
    found = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm["Dimensions"],
        Statistics=[alarm["Statistic"]],
        Period=alarm["Period"],
        StartTime=now - 600,
        EndTime=now + 60,
    )["Datapoints"]
    assert found, f"no {alarm['MetricName']} datapoint was published"
    return max(found, key=lambda point: point["Timestamp"])[alarm["Statistic"]]
