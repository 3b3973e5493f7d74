"""Local mode's batch transform: a transform job of moto's run for real.

Each of the job's instances is a model server of local mode's endpoints (the SageMaker PyTorch
serving toolkit over the job's model, ``endpoints.LocalEndpoints``) under the job's name; the
objects under the input prefix are shared out among them, each object one request (SplitType
None) with the job's ContentType and Accept, at most MaxConcurrentTransforms at a time per
instance. What SageMaker does with the answers, local mode does
(SageMaker developer guide, "Use batch transform to run inference with Amazon SageMaker AI"
and "Batch transform ... storing results"):

- an answer lands at ``S3OutputPath/<key relative to the input prefix>.out``;
- an object that fails (the model's 4xx/5xx answer, or larger than MaxPayloadInMB) writes no
  output; its bucket/key, status and the model's message go to the instance's
  ``JOB/INSTANCE-EPOCH/data-log`` stream in /aws/sagemaker/TransformJobs, in SageMaker's
  ``[sagemaker logs]: bucket/key: ClientError: 400`` form, and the job goes on with the others
  ("Batch Transform Errors": the processed files still give results);
- the job ends Completed, or Failed with "ClientError: See job logs for more information" (the
  reason users report) when any object failed. Each instance's server log goes to its
  ``JOB/INSTANCE-EPOCH`` stream.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from local_stack.emulator.endpoints import LocalEndpoints, model_source
from local_stack.emulator.job_files import kms_encryption
from local_stack.emulator.model_servers import InvokeEndpointError, ModelServer, Variant
from local_stack.emulator.training import Endpoint

logger = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TransformJobs"
OBJECTS_FAILED = "ClientError: See job logs for more information"
DEFAULT_MAX_PAYLOAD_MB = 6  # CreateTransformJob's MaxPayloadInMB default
LOG_EVENTS_PER_CALL = 1000


class TransformInputError(Exception):
    """What makes the whole job fail before any object is sent (its FailureReason)."""


@dataclass(frozen=True)
class InputObject:
    bucket: str
    key: str
    size: int
    output_key: str

    @property
    def name(self) -> str:
        return f"{self.bucket}/{self.key}"


def output_key(input_prefix: str, key: str, output_prefix: str) -> str:
    """Where SageMaker writes the answer for ``key``: its path below the input prefix, with
    ``.out`` appended, below the output path."""
    relative = key[len(input_prefix) :].lstrip("/")
    return f"{output_prefix.rstrip('/')}/{relative}.out" if output_prefix else f"{relative}.out"


def split_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise TransformInputError(f"{url} is not an s3:// URL")
    return parts.netloc, parts.path.lstrip("/")


def stamped(line: str) -> str:
    """A data-log line as SageMaker writes it: ``<ISO time>:[sagemaker logs]: <line>``."""
    moment = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "")
    return f"{moment}:[sagemaker logs]: {line}"


def failure_lines(item: InputObject, status: int, message: str) -> list[str]:
    kind = "ClientError" if status < 500 else "ServerError"
    lines = [f"{item.name}: {kind}: {status}", f"{item.name}: ", f"{item.name}: Message:"]
    return lines + [f"{item.name}: {line}" for line in (message.splitlines() or [""])]


class TransformRun:
    """A transform job of moto's (``job``) run for real in a thread of its own."""

    def __init__(self, backend, job, endpoints: LocalEndpoints, endpoint: Endpoint):
        self.backend, self.job, self.endpoints, self.endpoint = backend, job, endpoints, endpoint
        self.name: str = job.transform_job_name
        self.done = threading.Event()
        self._stopping = threading.Event()
        self._failed_objects = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"transform-{self.name}")
        self._thread.daemon = True

    def begin(self) -> None:
        """InProgress at once (in CreateTransformJob's own request), then run."""
        self.job.transform_job_status = "InProgress"
        self.job.transform_end_time = None
        self._thread.start()

    def stop(self) -> bool:
        """Stopping, then Stopped once the requests under way are answered; False when the
        job has ended."""
        with self._lock:
            if self.done.is_set() or self._stopping.is_set():
                return False
            self._stopping.set()
            self.job.transform_job_status = "Stopping"
        return True

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def _run(self) -> None:
        status, reason = "Completed", None
        try:
            self._transform()
            if self._stopping.is_set():
                status = "Stopped"
            elif self._failed_objects:
                status, reason = "Failed", OBJECTS_FAILED
        except (TransformInputError, InvokeEndpointError) as error:
            status, reason = "Failed", f"ClientError: {getattr(error, 'message', error)}"
        except Exception as error:  # reported on the job, as SageMaker reports its own faults
            logger.exception("local mode could not run transform job %s", self.name)
            status, reason = "Failed", f"InternalServerError: {error}"
        finally:
            self.endpoints.endpoint_deleted(self.name)
        with self._lock:
            self.job.transform_end_time = self.job.last_modified_time = datetime.now(UTC)
            if reason:
                self.job.failure_reason = reason
            self.job.transform_job_status = status
            self.done.set()
        logger.info("transform job %s: %s", self.name, status)

    def _transform(self) -> None:
        job = self.job
        count = int(job.transform_resources.get("InstanceCount", 1))
        concurrency = int(job.max_concurrent_transforms or 1)
        objects = self._inputs()
        url, environment = model_source(self.backend, job.model_name)
        # Streams are named JOB/INSTANCE-EPOCH (SageMaker developer guide, "CloudWatch Logs
        # for Amazon SageMaker AI").
        instances = [f"i-{uuid.uuid4().hex[:17]}-{int(time.time())}" for _ in range(count)]
        servers = [
            self.endpoints.server_for(Variant(self.name, instance, self.name, url, environment))
            for instance in instances
        ]
        logs = self.endpoint.client("logs")
        ensure_log_streams(logs, self.name, instances)
        header = (
            f"MaxConcurrentTransforms={concurrency}, MaxPayloadInMB={self._max_payload_mb()}, "
            f"BatchStrategy={camel_to_upper(job.batch_strategy or 'SingleRecord')}"
        )
        try:
            with ThreadPoolExecutor(max_workers=count) as pool:
                shards = [objects[index::count] for index in range(count)]
                for _ in pool.map(
                    self._run_instance, servers, shards, [concurrency] * count, [header] * count
                ):
                    pass
        finally:
            for server in servers:
                put_lines(logs, f"{self.name}/{server.variant.name}", server_log(server))

    def _run_instance(
        self, server: ModelServer, shard: list[InputObject], concurrency: int, header: str
    ) -> None:
        server.wait(self.endpoints.startup_timeout_s)
        lines = [stamped(header)]
        s3 = self.endpoint.client("s3")
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for failure in pool.map(lambda item: self._one(s3, server, item), shard):
                lines += [stamped(line) for line in failure]
        put_lines(
            self.endpoint.client("logs"), f"{self.name}/{server.variant.name}/data-log", lines
        )

    def _one(self, s3, server: ModelServer, item: InputObject) -> list[str]:
        """One object's request: its answer written, or its data-log lines."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self._stopping.is_set():
            return []
        try:
            return self._request(s3, server, item)
        except (ClientError, BotoCoreError) as error:  # the object gone, the output refused
            return self._failed(item, 500, f"Unable to read or write S3: {error}")

    def _request(self, s3, server: ModelServer, item: InputObject) -> list[str]:
        limit = self._max_payload_mb() * 1024 * 1024
        if item.size > limit:
            message = f"the object is {item.size} bytes, over MaxPayloadInMB={limit // 2**20}"
            return self._failed(item, 413, message)
        body = s3.get_object(Bucket=item.bucket, Key=item.key)["Body"].read()
        headers = {"Content-Type": self.job.transform_input.get("ContentType") or ""}
        if accept := self.job.transform_output.get("Accept"):
            headers["Accept"] = accept
        try:
            status, _, answer = server.invoke(body, headers, container=True)
        except InvokeEndpointError as error:  # no answer in time, or none at all
            return self._failed(item, error.original_status or error.status, error.message)
        if status != 200:
            return self._failed(item, status, answer.decode("utf-8", errors="replace"))
        output = self.job.transform_output
        bucket, _ = split_url(output["S3OutputPath"])
        encryption = kms_encryption(output.get("KmsKeyId"))
        s3.put_object(Bucket=bucket, Key=item.output_key, Body=answer, **encryption)
        return []

    def _failed(self, item: InputObject, status: int, message: str) -> list[str]:
        with self._lock:
            self._failed_objects += 1
        return failure_lines(item, status, message)

    def _max_payload_mb(self) -> int:
        value = self.job.max_payload_in_mb
        return DEFAULT_MAX_PAYLOAD_MB if value is None else int(value)

    def _inputs(self) -> list[InputObject]:
        """The objects under the job's S3Prefix, each with where its answer goes."""
        transform_input = self.job.transform_input
        source = transform_input["DataSource"]["S3DataSource"]
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise TransformInputError("local mode runs S3Prefix inputs only (not a manifest)")
        if transform_input.get("SplitType", "None") != "None":
            raise TransformInputError("local mode runs SplitType None only: one object, one record")
        if transform_input.get("CompressionType", "None") != "None":
            raise TransformInputError("local mode reads uncompressed objects only")
        bucket, prefix = split_url(source["S3Uri"])
        _, out = split_url(self.job.transform_output["S3OutputPath"])
        pages = self.endpoint.client("s3").get_paginator("list_objects_v2")
        objects = [
            InputObject(bucket, item["Key"], item["Size"], output_key(prefix, item["Key"], out))
            for page in pages.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
            if not item["Key"].endswith("/")
        ]
        if not objects:
            raise TransformInputError(f"no objects under {source['S3Uri']}")
        return objects


def camel_to_upper(value: str) -> str:
    """SingleRecord -> SINGLE_RECORD, as the data log names the strategy."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(value)).upper()


def server_log(server: ModelServer) -> list[str]:
    if not server.log_path.exists():
        return []
    return server.log_path.read_text(errors="replace").splitlines()


def ensure_log_streams(logs, job: str, instances: list[str]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=LOG_GROUP)
    for instance in instances:
        for stream in (f"{job}/{instance}", f"{job}/{instance}/data-log"):
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)


def put_lines(logs, stream: str, lines: list[str]) -> None:
    stamp = int(time.time() * 1000)
    events = [{"timestamp": stamp, "message": line or " "} for line in lines]
    for start in range(0, len(events), LOG_EVENTS_PER_CALL):
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=events[start : start + LOG_EVENTS_PER_CALL],
        )


def patch_moto(local_mode_of) -> None:
    """While the local mode ``local_mode_of`` gives is on, CreateTransformJob runs the job;
    on or off, it refuses what AWS refuses at once: a model that does not exist, a name taken."""
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    original = SageMakerResponse.create_transform_job

    def create_transform_job(self):
        model, name = self._get_param("ModelName"), self._get_param("TransformJobName")
        if model not in self.sagemaker_backend._models:
            raise ValidationError(message=f'Could not find model "{model}".')
        if name in self.sagemaker_backend.transform_jobs:
            raise ValidationError(message=f"Job name must be unique: {name} exists.")
        answer = original(self)
        if (mode := local_mode_of()) is not None:
            job = self.sagemaker_backend.transform_jobs[name]
            mode.transform_job_created(self.sagemaker_backend, job)
        return answer

    SageMakerResponse.create_transform_job = create_transform_job
