"""Probes: does an emulator behave as AWS does where moto 5.2.5 does not?

Each probe makes the few calls that show one gap (see ``shims``) and answers True
when the emulator behaves like AWS. They serve twice: an external emulator that lacks a
behaviour a run needs is refused with its name, and the shim tests run every probe against
an unpatched moto to show each gap still exists (so a moto upgrade that closes one makes its
test fail, and the shim gets removed).

``clients`` is a function from a service name to a boto3 client for the emulator. Probes
create uniquely named resources and delete what they can afterwards.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

Clients = Callable[[str], object]

ROLE_ARN = "arn:aws:iam::123456789012:role/probe"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"


def _unique(kind: str) -> str:
    return f"probe-{kind}-{uuid.uuid4().hex[:8]}"


def _answers(call, **params) -> bool:
    """Whether the call succeeds; an error answer (not implemented, unknown action, a server
    error page) is False."""
    try:
        call(**params)
    except (ClientError, BotoCoreError, ResponseParserError):
        return False
    return True


def scaling_tags(clients: Clients) -> bool:
    """Application Auto Scaling answers ListTagsForResource (the provider calls it after
    every RegisterScalableTarget)."""
    arn = f"arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/{_unique('t')}"
    return _answers(clients("application-autoscaling").list_tags_for_resource, ResourceARN=arn)


def ec2_monitoring(clients: Clients) -> bool:
    """EC2 MonitorInstances (detailed monitoring, ``monitoring = true``) works."""
    ec2 = clients("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro")
    instance_id = instance["Instances"][0]["InstanceId"]
    try:
        return _answers(ec2.monitor_instances, InstanceIds=[instance_id])
    finally:
        ec2.terminate_instances(InstanceIds=[instance_id])


def s3_tls_only_policy(clients: Clients) -> bool:
    """A bucket whose policy denies requests without TLS still serves its (local, plain
    HTTP) callers: the emulator must not read loopback HTTP as an insecure transport."""
    s3 = clients("s3")
    bucket = _unique("bucket")
    s3.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    try:
        return _answers(s3.put_object, Bucket=bucket, Key="probe", Body=b"probe")
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
        s3.delete_object(Bucket=bucket, Key="probe")
        s3.delete_bucket(Bucket=bucket)


def s3_suspended_versioning_delete(clients: Clients) -> bool:
    """A bucket whose versioning was suspended (terraform destroy removes the versioning
    resource before emptying a force_destroy bucket) deletes the versions of a key that has
    a delete marker: moto fails with a server error there, and the provider retries for ever."""
    s3 = clients("s3")
    bucket = _unique("bucket")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=bucket, Key="probe", Body=b"probe")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="probe")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    deleted = _answers(s3.delete_object, Bucket=bucket, Key="probe", VersionId=version)
    if deleted:
        s3.delete_object(Bucket=bucket, Key="probe", VersionId=marker)
        s3.delete_bucket(Bucket=bucket)
    return deleted


def lambda_invoke_qualifier(clients: Clients) -> bool:
    """Invoke honours its Qualifier (API_Invoke: a version or alias; one that does not exist
    is ResourceNotFoundException; moto reads it under another name and invokes $LATEST), and
    refuses a payload that is not JSON with InvalidRequestContentException (moto: a server
    error for one that is not UTF-8)."""
    iam, lambda_ = clients("iam"), clients("lambda")
    role = iam.create_role(
        RoleName=_unique("role"), AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY)
    )
    name = _unique("function")
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _EMPTY_ZIP},
    )
    try:
        return _refused(
            "ResourceNotFoundException",
            lambda_.invoke,
            FunctionName=name,
            Qualifier="no-such-alias",
            Payload=b"{}",
        ) and _refused(
            "InvalidRequestContentException", lambda_.invoke, FunctionName=name, Payload=b"\x80"
        )
    finally:
        lambda_.delete_function(FunctionName=name)
        iam.delete_role(RoleName=role["Role"]["RoleName"])


def _refused(code: str, call, **params) -> bool:
    """Whether the call is refused with the error ``code``."""
    try:
        call(**params)
    except ClientError as error:
        return error.response["Error"]["Code"] == code
    except (BotoCoreError, ResponseParserError):
        return False
    return False


# A role Lambda may assume (the execution role a function needs).
LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# A zip archive with no members: enough for CreateFunction.
_EMPTY_ZIP = b"PK\x05\x06" + b"\x00" * 18


def _create_model(sagemaker, isolated: bool = False) -> str:
    name = _unique("model")
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://probe/models/model.tar.gz"},
        EnableNetworkIsolation=isolated,
    )
    return name


def sagemaker_model_description(clients: Clients) -> bool:
    """DescribeModel reports the model as it was created: the EnableNetworkIsolation it was
    given, and no VpcConfig where it had none."""
    sagemaker = clients("sagemaker")
    name = _create_model(sagemaker, isolated=True)
    try:
        described = sagemaker.describe_model(ModelName=name)
        return described.get("EnableNetworkIsolation") is True and "VpcConfig" not in described
    finally:
        sagemaker.delete_model(ModelName=name)


def sagemaker_unique_names(clients: Clients) -> bool:
    """CreateModel and CreateEndpointConfig refuse a name that is taken."""
    sagemaker = clients("sagemaker")
    model = _create_model(sagemaker)
    config = _endpoint_config(sagemaker, model)
    try:
        refused_model = not _answers(
            sagemaker.create_model,
            ModelName=model,
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"Image": IMAGE},
        )
        refused_config = not _answers(
            sagemaker.create_endpoint_config,
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        return refused_model and refused_config
    finally:
        sagemaker.delete_endpoint_config(EndpointConfigName=config)
        sagemaker.delete_model(ModelName=model)


METRIC_DEFINITIONS = [{"Name": "valid_loss", "Regex": "valid_loss=([0-9]+\\.[0-9]+)"}]


def _job_definition() -> dict:
    return {
        "RoleArn": ROLE_ARN,
        "OutputDataConfig": {"S3OutputPath": "s3://probe/models/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def _algorithm() -> dict:
    return {
        "TrainingImage": IMAGE,
        "TrainingInputMode": "File",
        "MetricDefinitions": METRIC_DEFINITIONS,
    }


def sagemaker_training_metrics(clients: Clients) -> bool:
    """DescribeTrainingJob returns the caller's MetricDefinitions."""
    sagemaker = clients("sagemaker")
    name = _unique("train")
    sagemaker.create_training_job(
        TrainingJobName=name, AlgorithmSpecification=_algorithm(), **_job_definition()
    )
    job = sagemaker.describe_training_job(TrainingJobName=name)
    _answers(sagemaker.stop_training_job, TrainingJobName=name)  # one local mode would run
    return job["AlgorithmSpecification"].get("MetricDefinitions") == METRIC_DEFINITIONS


def sagemaker_tuning_trials(clients: Clients) -> bool:
    """A tuning job has trials: ListTrainingJobsForHyperParameterTuningJob lists them and
    BestTrainingJob names one of them once there is one (a tuning job that local mode runs
    has its first trial at once, and is stopped here)."""
    sagemaker = clients("sagemaker")
    name = _unique("tune")[:32]
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "valid_loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1"}
                ]
            },
        },
        TrainingJobDefinition={"AlgorithmSpecification": _algorithm(), **_job_definition()},
    )
    try:
        deadline = time.monotonic() + 5
        while not (trials := _trials(sagemaker, name)) and time.monotonic() < deadline:
            time.sleep(0.1)
    except (ClientError, BotoCoreError, ResponseParserError):
        return False
    finally:
        _answers(sagemaker.stop_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
    best = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    names = {trial["TrainingJobName"] for trial in trials}
    best_name = best.get("BestTrainingJob", {}).get("TrainingJobName")
    return bool(trials) and (best_name is None or best_name in names)


def _trials(sagemaker, name: str) -> list[dict]:
    return sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )["TrainingJobSummaries"]


def _endpoint_config(sagemaker, model: str, instance_type: str = "ml.m5.large") -> str:
    name = _unique("config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
        ],
    )
    return name


def sagemaker_update_endpoint(clients: Clients) -> bool:
    """UpdateEndpoint moves an endpoint to another endpoint configuration, and refuses to
    change the instance type of a variant registered for auto scaling."""
    sagemaker, scaling = clients("sagemaker"), clients("application-autoscaling")
    model = _create_model(sagemaker)
    configs = [_endpoint_config(sagemaker, model) for _ in range(2)]
    configs.append(_endpoint_config(sagemaker, model, "ml.c5.large"))
    endpoint = _unique("endpoint")
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=configs[0])
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{endpoint}/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    try:
        if not _answers(
            sagemaker.update_endpoint, EndpointName=endpoint, EndpointConfigName=configs[1]
        ):
            return False
        if sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"] != configs[1]:
            return False
        scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)
        return not _answers(
            sagemaker.update_endpoint, EndpointName=endpoint, EndpointConfigName=configs[2]
        )
    finally:
        _answers(scaling.deregister_scalable_target, **target)
        sagemaker.delete_endpoint(EndpointName=endpoint)
        for config in configs:
            sagemaker.delete_endpoint_config(EndpointConfigName=config)
        sagemaker.delete_model(ModelName=model)


def sagemaker_invoke_endpoint(clients: Clients) -> bool:
    """InvokeEndpoint takes a body that is not UTF-8 (a JPEG's first bytes): an endpoint that
    does not exist is a ValidationError whatever the body (moto: a server error, or canned
    data)."""
    return _refused(
        "ValidationError",
        clients("sagemaker-runtime").invoke_endpoint,
        EndpointName=_unique("endpoint"),
        Body=b"\xff\xd8\xff\xe0",
        ContentType="image/jpeg",
    )


def sagemaker_invoke_endpoint_async(clients: Clients) -> bool:
    """InvokeEndpointAsync answers where the endpoint's AsyncInferenceConfig puts the answer
    (``<S3OutputPath>/<InferenceId>.out``), and refuses an endpoint that does not exist and a
    real-time one (moto: a canned location in a bucket of its own, for any endpoint)."""
    sagemaker, runtime = clients("sagemaker"), clients("sagemaker-runtime")
    model = _create_model(sagemaker)
    realtime = _endpoint_config(sagemaker, model)
    queued = _unique("config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=queued,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://probe-answers/out/"}},
    )
    endpoints = {config: _unique("endpoint") for config in (realtime, queued)}
    for config, endpoint in endpoints.items():
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    call = {"InputLocation": "s3://probe-answers/in/photo.jpg", "InferenceId": "probe-1"}
    try:
        answer = runtime.invoke_endpoint_async(EndpointName=endpoints[queued], **call)
        return (
            answer["OutputLocation"] == "s3://probe-answers/out/probe-1.out"
            and _refused(
                "ValidationError",
                runtime.invoke_endpoint_async,
                EndpointName=_unique("endpoint"),
                **call,
            )
            and _refused(
                "ValidationError",
                runtime.invoke_endpoint_async,
                EndpointName=endpoints[realtime],
                **call,
            )
        )
    except (ClientError, BotoCoreError, ResponseParserError, KeyError):
        return False
    finally:
        for config, endpoint in endpoints.items():
            sagemaker.delete_endpoint(EndpointName=endpoint)
            sagemaker.delete_endpoint_config(EndpointConfigName=config)
        sagemaker.delete_model(ModelName=model)


def sagemaker_shadow_variants(clients: Clients) -> bool:
    """An endpoint configuration keeps its shadow variant, and refuses a second one."""
    sagemaker = clients("sagemaker")
    model = _create_model(sagemaker)
    name = _unique("config")
    variant = {"ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    shadow = {**variant, "VariantName": "Shadow", "InitialVariantWeight": 0.5}
    try:
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[{**variant, "VariantName": "AllTraffic"}],
            ShadowProductionVariants=[shadow],
        )
        described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
        kept = [v["VariantName"] for v in described.get("ShadowProductionVariants", [])]
        return kept == ["Shadow"] and _refused(
            "ValidationException",
            sagemaker.create_endpoint_config,
            EndpointConfigName=_unique("config"),
            ProductionVariants=[{**variant, "VariantName": "AllTraffic"}],
            ShadowProductionVariants=[shadow, {**shadow, "VariantName": "Other"}],
        )
    except (ClientError, BotoCoreError, ResponseParserError):
        return False
    finally:
        _answers(sagemaker.delete_endpoint_config, EndpointConfigName=name)
        sagemaker.delete_model(ModelName=model)


def sagemaker_empty_data_capture(clients: Clients) -> bool:
    """DescribeEndpointConfig has no DataCaptureConfig for a configuration without one."""
    sagemaker = clients("sagemaker")
    model = _create_model(sagemaker)
    config = _endpoint_config(sagemaker, model)
    try:
        return "DataCaptureConfig" not in sagemaker.describe_endpoint_config(
            EndpointConfigName=config
        )
    finally:
        sagemaker.delete_endpoint_config(EndpointConfigName=config)
        sagemaker.delete_model(ModelName=model)


def sagemaker_deployment_config(clients: Clients) -> bool:
    """DescribeEndpoint reports the DeploymentConfig an endpoint was created with as its
    LastDeploymentConfig (the provider reads deployment_config from there)."""
    sagemaker = clients("sagemaker")
    model = _create_model(sagemaker)
    config = _endpoint_config(sagemaker, model)
    endpoint = _unique("endpoint")
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60},
            "TerminationWaitInSeconds": 0,
        }
    }
    sagemaker.create_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        return described.get("LastDeploymentConfig") == deployment
    finally:
        sagemaker.delete_endpoint(EndpointName=endpoint)
        sagemaker.delete_endpoint_config(EndpointConfigName=config)
        sagemaker.delete_model(ModelName=model)


def sagemaker_lifecycle_config_tags(clients: Clients) -> bool:
    """A notebook lifecycle configuration keeps the tags it was created with, and ListTags
    answers for it (the provider reads the tags after creating one, and retries for minutes
    when the call fails)."""
    sagemaker = clients("sagemaker")
    name = _unique("lifecycle")
    tags = [{"Key": "Project", "Value": "probe"}]
    arn = sagemaker.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName=name,
        OnStart=[{"Content": "IyEvYmluL2Jhc2gK"}],
        Tags=tags,
    )["NotebookInstanceLifecycleConfigArn"]
    try:
        return sagemaker.list_tags(ResourceArn=arn)["Tags"] == tags
    except (ClientError, BotoCoreError, ResponseParserError):
        return False
    finally:
        sagemaker.delete_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=name
        )


def sagemaker_model_registry(clients: Clients) -> bool:
    """Approving a version keeps its metadata; a group with a version cannot be deleted, and
    can once the version is."""
    sagemaker = clients("sagemaker")
    group = _unique("group")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"training_job": "probe"},
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://probe/model.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    try:
        if not _answers(
            sagemaker.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved"
        ):
            return False
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        if described.get("CustomerMetadataProperties") != {"training_job": "probe"}:
            return False
        if _answers(sagemaker.delete_model_package_group, ModelPackageGroupName=group):
            return False  # deleted while it held a version
        return _answers(sagemaker.delete_model_package, ModelPackageName=arn) and _answers(
            sagemaker.delete_model_package_group, ModelPackageGroupName=group
        )
    finally:
        _answers(sagemaker.delete_model_package, ModelPackageName=arn)
        _answers(sagemaker.delete_model_package_group, ModelPackageGroupName=group)


def _event(detail: dict) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "SageMaker Transform Job State Change",
            "source": "aws.sagemaker",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def events_test_event_pattern(clients: Clients) -> bool:
    """EventBridge's TestEventPattern answers whether an event matches a pattern (prefix
    matching included), and refuses an event without its required fields."""
    events = clients("events")
    pattern = json.dumps({"detail": {"TransformJobName": [{"prefix": "probe-"}]}})
    try:
        matched = events.test_event_pattern(
            EventPattern=pattern, Event=_event({"TransformJobName": "probe-1"})
        ).get("Result")
        other = events.test_event_pattern(
            EventPattern=pattern, Event=_event({"TransformJobName": "other-1"})
        ).get("Result")
    except (ClientError, BotoCoreError, ResponseParserError):
        return False
    incomplete = _refused(
        "InvalidEventPatternException",
        events.test_event_pattern,
        EventPattern=pattern,
        Event=json.dumps({"detail": {}}),
    )
    return matched is True and other is False and incomplete
