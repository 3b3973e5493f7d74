"""Asynchronous endpoints on the emulator, deployed with plain boto3 as any client would: a
bucket of the endpoint's name holding its model, answers under ``async/out/`` and failures
under ``async/failed/``, requests expected under ``async/in/`` (where the invoker Lambda puts
them: ``FUNCTION_SETTINGS``)."""

from __future__ import annotations

import uuid
from pathlib import Path

from local_stack.emulator import client

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
ROLE = "arn:aws:iam::123456789012:role/endpoint"
VARIANT = {"VariantName": "AllTraffic", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}


def function_settings(name: str) -> dict[str, str]:
    """The invoker's environment in front of the endpoint ``name``, as Terraform sets it."""
    return {
        "ENDPOINT_NAME": name,
        "ASYNC_BUCKET": name,
        "ASYNC_INPUT_PREFIX": "async/in/",
        "ASYNC_OUTPUT_PREFIX": "async/out/",
        "ASYNC_FAILURE_PREFIX": "async/failed/",
    }


def asynchronous_endpoint(
    emulator, prefix: str, archive: Path | None = None, **async_config
) -> str:
    """A new asynchronous endpoint (and its bucket, model and configuration) serving
    ``archive`` (none: a model whose data is not there); its name. ``async_config`` adds to
    the AsyncInferenceConfig: ``ClientConfig``, ``NotificationConfig``."""
    s3, sagemaker = client("s3", emulator), client("sagemaker", emulator)
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    if archive is not None:
        s3.upload_file(str(archive), name, "models/model.tar.gz")
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{name}/models/model.tar.gz"},
    )
    outputs = {
        "S3OutputPath": f"s3://{name}/async/out/",
        "S3FailurePath": f"s3://{name}/async/failed/",
    }
    if "NotificationConfig" in async_config:
        outputs["NotificationConfig"] = async_config.pop("NotificationConfig")
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{**VARIANT, "ModelName": name}],
        AsyncInferenceConfig={"OutputConfig": outputs, **async_config},
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def realtime_twin(emulator, name: str) -> str:
    """A real-time endpoint serving the asynchronous endpoint ``name``'s model; its name."""
    sagemaker, twin = client("sagemaker", emulator), f"{name}-rt"
    sagemaker.create_endpoint_config(
        EndpointConfigName=twin, ProductionVariants=[{**VARIANT, "ModelName": name}]
    )
    sagemaker.create_endpoint(EndpointName=twin, EndpointConfigName=twin)
    return twin
