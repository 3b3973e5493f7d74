"""The whole root module applied to the emulator (see conftest.py), checked through boto3,
and re-planned. Destroying it, and proving nothing is left, is the fixture's teardown."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
import requests
from botocore.config import Config

from local_stack.demo.terraform import var_flags
from local_stack.emulator import client, local_address
from local_stack.http_api import http_api_event
from tests.iam import inline_policy, policy_allows
from tests.images import sample_image
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.slow]

# Re-plan drift the emulator causes, by resource address, with what differs and why.
KNOWN_EMULATOR_DRIFT = {
    "module.notebook_instance[0].aws_sagemaker_notebook_instance.this": (
        {"platform_identifier"},
        "moto does not record a notebook instance's PlatformIdentifier",
    ),
    "module.training_instance[0].aws_instance.this": (
        {"vpc_security_group_ids"},
        "moto does not report security group ids of an instance launched without a subnet",
    ),
}


def test_bucket_is_versioned_encrypted_private_and_tls_only(applied_stack, emulator):
    s3 = client("s3", emulator)
    bucket = applied_stack["outputs"]["bucket_name"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    statement = policy["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {rule["ID"] for rule in lifecycle} == {
        "expire-old-checkpoints",
        "expire-captured-requests",
        "expire-async-requests",
        "expire-noncurrent-versions",
    }
    # Callers' photos (captured, or queued for an asynchronous endpoint) are kept 30 days.
    photos = {
        r["ID"]: (r["Filter"].get("Prefix"), r["Expiration"]["Days"])
        for r in lifecycle
        if "Expiration" in r
    }
    assert photos["expire-captured-requests"] == ("capture/", 30)
    assert photos["expire-async-requests"] == ("async/", 30)
    assert s3.head_object(Bucket=bucket, Key="code/code.tar.gz")["ContentLength"] > 0
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["Team"] == "ml-platform"
    assert tags["ManagedBy"] == "terraform"


def test_the_notebook_instance_runs_locked_down_with_its_idle_stop(applied_stack, emulator):
    sagemaker = client("sagemaker", emulator)
    outputs = applied_stack["outputs"]
    notebook = sagemaker.describe_notebook_instance(NotebookInstanceName=outputs["notebook_name"])
    assert notebook["NotebookInstanceArn"] == outputs["notebook_arn"]
    assert notebook["InstanceType"] == "ml.t2.medium"
    assert notebook["DirectInternetAccess"] == "Disabled"
    assert notebook["RootAccess"] == "Disabled"
    assert notebook["SubnetId"] == applied_stack["variables"]["notebook"]["subnet_id"]
    assert notebook["RoleArn"].endswith(f"role/{outputs['notebook_name']}-execution")
    config = sagemaker.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=notebook["NotebookInstanceLifecycleConfigName"]
    )
    script = base64.b64decode(config["OnStart"][0]["Content"]).decode()
    assert "--idle-minutes 60" in script
    assert outputs["notebook_console_url"].endswith(
        f"#/notebook-instances/{outputs['notebook_name']}"
    )


def test_the_http_api_routes_post_classify_to_the_live_alias(applied_stack, emulator):
    gateway = client("apigatewayv2", emulator)
    outputs = applied_stack["outputs"]
    (api,) = [a for a in gateway.get_apis()["Items"] if a["Name"] == f"{applied_stack['name']}-api"]
    assert api["ProtocolType"] == "HTTP"
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://dogs.example.com"]
    (route,) = gateway.get_routes(ApiId=api["ApiId"])["Items"]
    assert route["RouteKey"] == "POST /classify"
    integration = gateway.get_integration(
        ApiId=api["ApiId"], IntegrationId=route["Target"].removeprefix("integrations/")
    )
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == outputs["lambda_alias_arn"]
    stage = gateway.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["RouteSettings"]["POST /classify"]["ThrottlingRateLimit"] == 5
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(f"/aws/apigateway/{api['Name']}")
    assert outputs["classify_url"].endswith("/classify")
    function = client("lambda", emulator)
    policy = json.loads(
        function.get_policy(FunctionName=outputs["lambda_function_name"], Qualifier="live")[
            "Policy"
        ]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"]["Service"] == "apigateway.amazonaws.com"
    source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert source.endswith(f":{api['ApiId']}/*/POST/classify")


def test_endpoint_is_in_service_with_its_configuration(applied_stack, emulator):
    sagemaker = client("sagemaker", emulator)
    endpoint = sagemaker.describe_endpoint(EndpointName=applied_stack["outputs"]["endpoint_name"])
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointArn"] == applied_stack["outputs"]["endpoint_arn"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["InstanceType"]) == ("AllTraffic", "ml.m5.large")
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    container = model["PrimaryContainer"]
    assert container["ModelDataUrl"] == applied_stack["variables"]["model_data_url"]
    assert container["Image"].endswith("/pytorch-inference:2.6.0-cpu-py312")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    # ml.m5.large has 2 vCPUs: one worker per vCPU, one torch thread each (instances.tf).
    assert container["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert container["Environment"]["OMP_NUM_THREADS"] == "1"
    assert model["ExecutionRoleArn"] == applied_stack["outputs"]["endpoint_execution_role_arn"]
    assert model["EnableNetworkIsolation"] is True


def test_the_model_registry_has_the_stacks_group(applied_stack, emulator):
    outputs = applied_stack["outputs"]
    group = client("sagemaker", emulator).describe_model_package_group(
        ModelPackageGroupName=outputs["model_package_group_name"]
    )
    assert group["ModelPackageGroupArn"] == outputs["model_package_group_arn"]
    assert outputs["model_package_group_name"] == f"{applied_stack['name']}-models"
    assert outputs["inference_image_uri"].endswith("/pytorch-inference:2.6.0-cpu-py312")


def test_endpoint_scales_one_to_three_with_30s_cooldowns(applied_stack, emulator):
    autoscaling = client("application-autoscaling", emulator)
    resource_id = f"endpoint/{applied_stack['outputs']['endpoint_name']}/variant/AllTraffic"
    target = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id]
    )["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    policy = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id
    )["ScalingPolicies"][0]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (30, 30)


def test_lambda_live_alias_concurrency_and_environment(applied_stack, emulator):
    lambda_client = client("lambda", emulator)
    name = applied_stack["outputs"]["lambda_function_name"]
    function = lambda_client.get_function(FunctionName=name)
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 5
    configuration = function["Configuration"]
    environment = configuration["Environment"]["Variables"]
    assert environment["ENDPOINT_NAME"] == applied_stack["outputs"]["endpoint_name"]
    assert environment["INPUT_PREFIX"] == "inference-input/"
    assert configuration["Runtime"] == "python3.12"
    assert configuration["Timeout"] < 60
    alias = lambda_client.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] not in ("$LATEST", "")
    assert alias["AliasArn"] == applied_stack["outputs"]["lambda_alias_arn"]
    retention = client("logs", emulator).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{name}"
    )["logGroups"][0]["retentionInDays"]
    assert retention == 365


def test_the_deployed_lambda_runs_its_code_on_the_emulator(applied_stack, emulator, local_mode):
    """Local mode runs the live alias's deployed zip: its own handler refuses a request that
    carries no image, as it does on AWS (API Gateway's payload format 2.0, a 4xx of its own),
    and the invocation is logged in the function's log group."""
    event = {"version": "2.0", "headers": {"content-type": "application/json"}, "body": "{}"}
    answer = client("lambda", emulator).invoke(
        FunctionName=applied_stack["outputs"]["lambda_alias_arn"],
        Payload=json.dumps(event).encode(),
        LogType="Tail",
    )
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    assert 400 <= payload["statusCode"] < 500, payload
    assert json.loads(payload["body"])["error"]["code"], payload
    log = base64.b64decode(answer["LogResult"]).decode()
    version = client("lambda", emulator).get_alias(
        FunctionName=applied_stack["outputs"]["lambda_function_name"], Name="live"
    )["FunctionVersion"]
    assert f" Version: {version}\n" in log
    assert "request handled" in log


def test_the_deployed_lambda_answers_a_photo_alike_through_invoke_and_the_http_api(
    applied_stack, emulator, local_mode, model_archive, sample_dataset
):
    """Local mode end to end: the live alias's code, then the endpoint's model (its
    configuration's model.tar.gz, served on the toolkit's handler service), through Lambda's
    Invoke with an HTTP API event and through the API's local address: one answer."""
    outputs = applied_stack["outputs"]
    model_data_url = applied_stack["variables"]["model_data_url"]
    bucket, key = model_data_url.removeprefix("s3://").split("/", 1)
    s3 = client("s3", emulator)
    s3.upload_file(str(model_archive), bucket, key)
    try:
        image = sample_image(sample_dataset, "004.Akita")
        jpeg = image.read_bytes()
        # The first call loads the model: longer than the function's 8 s endpoint timeout.
        warm = client("sagemaker-runtime", emulator, config=Config(read_timeout=240))
        warm.invoke_endpoint(
            EndpointName=outputs["endpoint_name"], Body=jpeg, ContentType="image/jpeg"
        )
        event = http_api_event("/classify", "POST", [("Content-Type", "image/jpeg")], "", jpeg)
        invoked = client("lambda", emulator).invoke(
            FunctionName=outputs["lambda_alias_arn"], Payload=json.dumps(event).encode()
        )
        payload = json.loads(invoked["Payload"].read())
        assert payload["statusCode"] == 200, payload
        origin = applied_stack["variables"]["http_api"]["cors_allow_origins"][0]
        through_api = requests.post(
            f"{local_address(emulator.endpoint_url, outputs['http_api_id'])}/classify",
            data=jpeg,
            headers={"Content-Type": "image/jpeg", "Origin": origin},
            timeout=60,
        )
        assert through_api.status_code == 200, through_api.text
        assert through_api.json() == json.loads(payload["body"])
        assert through_api.json()["predictions"][0]["breed"] == "Akita"
        assert through_api.headers["access-control-allow-origin"] == origin
        from_readme = readme_invoke(emulator, outputs["lambda_alias_arn"], image)
        assert from_readme.pop("predictions") == through_api.json()["predictions"][:3]  # top_k 3
        assert from_readme.items() <= through_api.json().items()
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def readme_invoke(emulator, function: str, image) -> dict:
    """The README's plain boto3 invoke (Local addresses), run as written, with the function
    and the photo it names replaced by these: its answer."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("**Local addresses.**") :]
    code = section[section.index(".venv/bin/python -c '") + len(".venv/bin/python -c '") :]
    code = code[: code.index("' \\\n")]
    environment = {**os.environ, **emulator.environment()}
    result = subprocess.run(
        [sys.executable, "-c", code, function, str(image)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_training_instance_requires_imdsv2_and_has_its_profile(applied_stack, emulator):
    instance = client("ec2", emulator).describe_instances(
        InstanceIds=[applied_stack["outputs"]["training_instance_id"]]
    )["Reservations"][0]["Instances"][0]
    assert instance["InstanceType"] == "t2.xlarge"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["IamInstanceProfile"]["Arn"].endswith(
        f"/{applied_stack['name']}-training-instance"
    )
    assert instance["ImageId"] == applied_stack["ami_id"]
    assert instance["Monitoring"]["State"] == "enabled"


def test_alarms_watch_the_endpoint_and_the_lambda(applied_stack, emulator):
    outputs = applied_stack["outputs"]
    alarms = client("cloudwatch", emulator).describe_alarms(AlarmNames=outputs["alarm_names"])[
        "MetricAlarms"
    ]
    metrics = {(alarm["Namespace"], alarm["MetricName"]) for alarm in alarms}
    assert metrics == {
        ("AWS/SageMaker", "Invocation5XXErrors"),
        ("AWS/SageMaker", "ModelLatency"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Events", "TriggeredRules"),
    }
    every = client("cloudwatch", emulator).describe_alarms(AlarmNamePrefix=applied_stack["name"])
    assert sorted(a["AlarmName"] for a in every["MetricAlarms"]) == sorted(
        outputs["alarm_names"]
        + outputs["endpoint_rollback_alarm_names"]
        + list(outputs["model_monitor_alarm_names"].values())
    )


def test_a_failed_transform_job_of_the_stack_matches_the_alarms_rule(applied_stack, emulator):
    """The rule the transform-failures alarm counts matches the event SageMaker sends when one
    of the stack's transform jobs ends Failed (SageMaker developer guide, "Events that Amazon
    SageMaker AI sends to Amazon EventBridge": "SageMaker Transform Job State Change"), and no
    other, EventBridge's own TestEventPattern decides; it sends the job and its reason to the
    alarm topic, whose policy lets this rule, and only it among EventBridge's, publish."""
    name = applied_stack["name"]
    events = client("events", emulator)
    (rule,) = events.list_rules(NamePrefix=f"{name}-transform-failed")["Rules"]
    alarm = client("cloudwatch", emulator).describe_alarms(
        AlarmNames=[f"{name}-transform-failures"]
    )["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": rule["Name"]}]

    def event(job: str, status: str) -> str:
        return json.dumps(
            {
                "version": "0",
                "id": "5b8ea9f3-4c2b-4d8a-9a41-6f2f7c1e0f11",
                "detail-type": "SageMaker Transform Job State Change",
                "source": "aws.sagemaker",
                "account": "123456789012",
                "time": "2026-12-07T08:00:00Z",
                "region": "us-east-1",
                "resources": [f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job}"],
                "detail": {
                    "TransformJobName": job,
                    "TransformJobStatus": status,
                    "FailureReason": "ClientError: See job logs for more information",
                },
            }
        )

    def matches(job: str, status: str) -> bool:
        answer = events.test_event_pattern(
            EventPattern=rule["EventPattern"], Event=event(job, status)
        )
        return answer["Result"]

    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    topic = applied_stack["outputs"]["alarm_topic_arn"]
    assert target["Arn"] == topic
    assert "<job> failed: <reason>" in target["InputTransformer"]["InputTemplate"]
    policy = json.loads(
        client("sns", emulator).get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    )
    (publish,) = [
        s for s in policy["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert publish["Condition"]["ArnEquals"]["aws:SourceArn"] == rule["Arn"]

    assert matches(f"{name}-transform-261207-080000", "Failed")
    assert not matches(f"{name}-transform-261207-080000", "Completed")
    assert not matches(f"{name}-transform-261207-080000", "InProgress")
    assert not matches("another-stack-transform-261207-080000", "Failed")


def test_the_endpoint_deploys_blue_green_and_rolls_back_on_its_alarms(applied_stack, emulator):
    outputs = applied_stack["outputs"]
    endpoint = client("sagemaker", emulator).describe_endpoint(
        EndpointName=outputs["endpoint_name"]
    )
    deployment = endpoint["LastDeploymentConfig"]
    policy = deployment["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 300,
    }
    assert (policy["TerminationWaitInSeconds"], policy["MaximumExecutionTimeoutInSeconds"]) == (
        120,
        3600,
    )
    rollback = {alarm["AlarmName"] for alarm in deployment["AutoRollbackConfiguration"]["Alarms"]}
    assert rollback == set(outputs["endpoint_rollback_alarm_names"])
    alarms = client("cloudwatch", emulator).describe_alarms(AlarmNames=sorted(rollback))
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms["MetricAlarms"]}
    assert watched == {
        ("AWS/SageMaker", "Invocation5XXErrors"),
        ("AWS/SageMaker", "ModelLatency"),
        (f"{applied_stack['name']}/Endpoint", "ModelFaults"),
    }
    (model_faults,) = client("logs", emulator).describe_metric_filters(
        logGroupName=f"/aws/sagemaker/Endpoints/{outputs['endpoint_name']}"
    )["metricFilters"]
    assert model_faults["filterPattern"] == '"answering 500 internal"'


def test_the_endpoint_captures_a_fifth_of_its_traffic_under_capture(applied_stack, emulator):
    outputs = applied_stack["outputs"]
    sagemaker = client("sagemaker", emulator)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=outputs["endpoint_config_name"])
    capture = config["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == f"s3://{outputs['bucket_name']}/capture/"
    assert capture["InitialSamplingPercentage"] == 20
    assert {option["CaptureMode"] for option in capture["CaptureOptions"]} == {"Input", "Output"}
    assert outputs["endpoint_data_capture_s3_uri"] == capture["DestinationS3Uri"]


def test_the_model_monitor_runs_hourly_and_its_role_reads_the_variants_captures_only(
    applied_stack, emulator
):
    """The schedule as SageMaker's captures need it, and the monitor's role proved by the
    IAM evaluator: the variant's captures and the group's baselines, nothing else of the
    bucket, no write, metrics in its namespace only."""
    outputs, name = applied_stack["outputs"], applied_stack["name"]
    function = client("lambda", emulator).get_function(
        FunctionName=outputs["model_monitor_function_name"]
    )["Configuration"]
    schedule = client("scheduler", emulator).get_schedule(Name=f"{name}-model-monitor")
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == function["FunctionArn"]
    assert function["Handler"] == "monitor_function.handler"
    scheduler_role = schedule["Target"]["RoleArn"].rsplit("/", 1)[1]
    assert policy_allows(
        inline_policy(emulator, scheduler_role), "lambda:InvokeFunction", function["FunctionArn"]
    )

    policy = inline_policy(emulator, function["Role"].rsplit("/", 1)[1])
    bucket = f"arn:aws:s3:::{outputs['bucket_name']}"
    captures = f"capture/{outputs['endpoint_name']}/AllTraffic/"
    baselines = f"registry/{outputs['model_package_group_name']}/"
    allowed = [
        ("s3:GetObject", f"{bucket}/{captures}2026/12/07/14/a.jsonl", {}),
        ("s3:GetObject", f"{bucket}/{baselines}job-1/baseline.json", {}),
        ("s3:ListBucket", bucket, {"s3:prefix": f"{captures}2026/12/07/14/"}),
        ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": f"{name}/ModelMonitor"}),
    ]
    refused = [
        ("s3:GetObject", f"{bucket}/data/train/001.Affenpinscher/1.jpg", {}),
        ("s3:GetObject", f"{bucket}/capture/{outputs['endpoint_name']}/Shadow/a.jsonl", {}),
        ("s3:GetObject", f"{bucket}/models/run-1/model.tar.gz", {}),
        ("s3:PutObject", f"{bucket}/{captures}a.jsonl", {}),
        ("s3:ListBucket", bucket, {"s3:prefix": "data/"}),
        ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/SageMaker"}),
        (
            "sagemaker:InvokeEndpoint",
            f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
            {},
        ),
    ]
    for action, resource, context in allowed:
        assert policy_allows(policy, action, resource, context), (action, resource, context)
    for action, resource, context in refused:
        assert not policy_allows(policy, action, resource, context), (action, resource, context)


def test_the_dashboard_shows_the_endpoint_the_lambda_and_every_alarm(applied_stack, emulator):
    outputs = applied_stack["outputs"]
    body = json.loads(
        client("cloudwatch", emulator).get_dashboard(DashboardName=outputs["dashboard_name"])[
            "DashboardBody"
        ]
    )
    titles = {w["properties"]["title"] for w in body["widgets"]}
    assert titles == {
        "Endpoint invocations and errors",
        "Model latency (microseconds)",
        "Instances, CPU and memory",
        "Lambda invocations, errors and throttles",
        "Lambda duration (ms)",
        "Batch transform jobs that failed",
        "Live model against its training: drift score, low-confidence and unfamiliar shares",
        "Alarms",
    }
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    shown = {arn.rsplit(":", 1)[-1] for arn in alarm_widget["properties"]["alarms"]}
    monitor = list(outputs["model_monitor_alarm_names"].values())
    assert shown == set(outputs["alarm_names"] + outputs["endpoint_rollback_alarm_names"] + monitor)


def test_replan_shows_only_known_emulator_drift(applied_stack):
    flags = var_flags(applied_stack["variables"])
    expected = {address: attributes for address, (attributes, _) in KNOWN_EMULATOR_DRIFT.items()}
    assert applied_stack["terraform"].drift(*flags) == expected
