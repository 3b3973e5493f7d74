"""One SageMaker training job run for real by the emulator's local mode (``local_mode``).

What SageMaker does for a job, done on this machine: each instance is a process of the
SageMaker training toolkit's ``train`` (the entry point of SageMaker's framework training
images) with an /opt/ml of its own (``SAGEMAKER_BASE_DIR``): the configuration files, the
input channels downloaded from the emulator's S3, the checkpoints from the job's checkpoint
URI. The toolkit downloads the job's code bundle and runs its entry point as in the container,
under the framework module the image names (the PyTorch training toolkit for the PyTorch
images); instances have loopback addresses of their own (127.0.0.N), and one job of several
instances trains at a time on a machine (their rendezvous port is fixed). Each instance's
output goes to its CloudWatch Logs stream, and the job's metric definitions are matched
against it into FinalMetricDataList and CloudWatch metrics, as SageMaker does. At the end
algo-1's /opt/ml/model and /opt/ml/output/data go to the output path as model.tar.gz and
output.tar.gz, the checkpoints back to their URI, and the job ends Completed, Failed (the
toolkit's failure file as the reason, as SageMaker reports it) or Stopped.

Not run: the training image. The job runs in the Python environment of ``toolkit``'s ``train``
(the emulator's own by default); the parity tier checks the image's versions.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from local_stack.emulator.job_files import (
    JobInputError,
    download_keys,
    download_prefix,
    list_keys,
    s3_source,
    upload_prefix,
    upload_tree,
    write_json,
)
from local_stack.emulator.job_logs import LOG_GROUP, LogPump, Stream

logger = logging.getLogger(__name__)

# API_StopTrainingJob: SIGTERM, then 120 seconds to save the model before the job ends.
STOP_GRACE_S = 120
# API_DescribeTrainingJob: FailureReason is at most 1024 characters.
FAILURE_REASON_LIMIT = 1024
# How long the other instances may go on after one has failed (they wait on it otherwise).
PEER_FAILURE_GRACE_S = 10
# What aws/deep-learning-containers' PyTorch training Dockerfiles set (its module gives
# MASTER_PORT a fixed 7777: sagemaker_pytorch_container/training.py).
PYTORCH_TRAINING_MODULE = "sagemaker_pytorch_container.training:main"
# Held by the job of several instances that trains on this machine now (rendezvous_port).
RENDEZVOUS_LOCK = Path(tempfile.gettempdir()) / "local-mode-rendezvous.lock"
# What a job's processes take from this machine's environment: what running a process here
# needs, nothing of the emulator's own (a RANK or MASTER_ADDR left by an earlier run in its
# process would send an instance to the wrong group; an image starts from its own).
HOST_VARIABLES = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "TORCH_HOME")


def host_environment() -> dict[str, str]:
    """``HOST_VARIABLES`` of this machine: what a process local mode starts (a job's instance,
    a Lambda invocation) begins with."""
    return {k: v for k, v in os.environ.items() if k in HOST_VARIABLES}


@dataclass
class Instance:
    """One instance of the job: its SageMaker name, its loopback address and its /opt/ml."""

    name: str
    address: str
    base: Path
    log_stream: str
    process: subprocess.Popen | None = None


@dataclass
class Outcome:
    status: str  # Completed, Failed or Stopped
    secondary: str  # the last secondary status: Completed, Failed, Stopped, MaxRuntimeExceeded
    message: str
    failure_reason: str | None = None


@dataclass
class Endpoint:
    """Where the job's instances reach AWS: the emulator."""

    url: str
    region: str
    credentials: dict[str, str] = field(default_factory=dict)

    def client(self, service: str):
        import boto3

        return boto3.client(
            service, endpoint_url=self.url, region_name=self.region, **self.boto_credentials()
        )

    def boto_credentials(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.credentials.get("AWS_ACCESS_KEY_ID", "test"),
            "aws_secret_access_key": self.credentials.get("AWS_SECRET_ACCESS_KEY", "test"),
        }

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.credentials.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": self.credentials.get("AWS_SECRET_ACCESS_KEY", "test"),
        }


def now() -> datetime:
    return datetime.now(UTC)


def loopback_addresses(count: int) -> list[str]:
    """One loopback address per instance (127.0.0.1, .2...), as each instance of a job has an
    address of its own."""
    return [f"127.0.0.{number}" for number in range(1, count + 1)]


@contextlib.contextmanager
def rendezvous_port(
    needed: bool, stopped: Callable[[], bool], holder: str, waiting: Callable[[str], None]
) -> Iterator[None]:
    """This machine's rendezvous port, held while a job of several instances trains: the
    framework module fixes MASTER_PORT (7777, as on SageMaker, where each job has hosts of its
    own) and PyTorch's store listens on every address, so a second such job at the same time
    (from this emulator or another on this machine) would join the first one's group. It
    waits for the port, polling ``stopped`` to give up on a stop; the lock file names its
    ``holder``, which ``waiting`` is told (once per holder)."""
    if not needed:
        yield
        return
    with RENDEZVOUS_LOCK.open("a+") as lock:
        told = None
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stopped():
                    yield
                    return
                lock.seek(0)
                if (other := lock.read().strip() or "another job") != told:
                    told = other
                    waiting(other)
                time.sleep(1)
        lock.seek(0)
        lock.truncate()
        lock.write(f"{holder} (process {os.getpid()})")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def framework_module(image: str) -> str | None:
    """The framework module a SageMaker training image runs jobs under: the PyTorch images
    set ``SAGEMAKER_TRAINING_MODULE`` to the PyTorch training toolkit's (its Dockerfile);
    any other image runs the entry point with the training toolkit alone."""
    repository = image.rsplit("/", 1)[-1].split(":", 1)[0]
    return PYTORCH_TRAINING_MODULE if repository == "pytorch-training" else None


def group_alive(pid: int) -> bool:
    """Whether a process of the group ``pid`` leads is still running (a zombie waiting for its
    reaper is not)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    if not Path("/proc").is_dir():
        return True
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:  # after "(comm) ": state, ppid, pgrp, ...
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[2] == str(pid) and fields[0] != "Z":
            return True
    return False


class TrainingRun:
    """A training job of moto's (``job``) run for real in a thread of its own."""

    def __init__(self, job, endpoint: Endpoint, work_dir: Path, toolkit: Path, stop_grace_s: float):
        self.job = job
        self.name: str = job.training_job_name
        self.endpoint = endpoint
        self.work_dir = work_dir / self.name
        self.toolkit = toolkit
        self.stop_grace_s = stop_grace_s
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._stop_reason: str | None = None  # Stopped, or MaxRuntimeExceeded
        self._stop_deadline = float("inf")
        self._instances: list[Instance] = []
        self._first_failed = 0  # the instance whose failure ended the others
        self._thread = threading.Thread(target=self._run, name=f"job-{self.name}", daemon=True)

    # -- what the API asks -------------------------------------------------------------------

    def begin(self) -> None:
        """InProgress at once (in CreateTrainingJob's own request), then run."""
        job = self.job
        job.training_job_status = "InProgress"
        job.secondary_status_transitions = []
        job.final_metric_data_list = []
        job.training_start_time = job.training_end_time = None
        self._transition("Starting", "Preparing the instances for training")
        self._thread.start()

    def stop(self, reason: str = "Stopped") -> bool:
        """SIGTERM to every instance, SIGKILL after the grace period; False when it already
        ended."""
        with self._lock:
            if self.done.is_set() or self._stop_reason is not None:
                return False
            self._stop_reason = reason
            self._stop_deadline = time.monotonic() + self.stop_grace_s
            self.job.training_job_status = "Stopping"
            self._transition("Stopping", "Stopping the training job")
            self._signal(signal.SIGTERM)
        return True

    def kill(self) -> None:
        """End every process now (the emulator stops)."""
        with self._lock:
            self._stop_reason = self._stop_reason or "Stopped"
            self._stop_deadline = 0
            self._signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    # -- the run -----------------------------------------------------------------------------

    def _run(self) -> None:
        started = time.monotonic()
        try:
            outcome = self._train()
        except JobInputError as error:
            outcome = Outcome("Failed", "Failed", "Training job failed", f"ClientError: {error}")
        except Exception as error:  # reported on the job, as SageMaker reports its own faults
            logger.exception("local mode could not run training job %s", self.name)
            outcome = Outcome(
                "Failed", "Failed", "Training job failed", f"InternalServerError: {error}"
            )
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        self._finish(outcome, time.monotonic() - started)

    def _train(self) -> Outcome:
        job = self.job
        if not self.toolkit.is_file():
            raise JobInputError(
                f"local mode runs jobs with the SageMaker training toolkit's {self.toolkit}, "
                "which is missing: pip install sagemaker-training"
            )
        self._instances = self._lay_out()
        self._transition("Downloading", "Downloading input data")
        s3 = self.endpoint.client("s3")
        for index, instance in enumerate(self._instances):
            self._download_channels(s3, instance, index)
            if checkpoint_uri := (job.checkpoint_config or {}).get("S3Uri"):
                download_prefix(s3, checkpoint_uri, self._checkpoint_dir(instance))
        if self._stop_reason:
            return self._stopped_outcome()

        self._transition("Training", "Training image download completed. Training in progress.")
        job.training_start_time = now()
        with rendezvous_port(
            len(self._instances) > 1,
            lambda: self._stop_reason is not None,
            f"training job {job.training_job_name}",
            self._waiting_for_rendezvous,
        ):
            pumps = self._start_instances()
            codes = self._wait_for_instances()
        for pump in pumps:
            pump.join()

        if not self._stop_reason:  # a stopped job uploads while Stopping
            self._transition("Uploading", "Uploading generated training model")
        primary = self._instances[0]
        failed = next((code for code in codes if code != 0), 0) if not self._stop_reason else 0
        if not failed:  # a stopped job keeps what it saved in its grace period
            upload_tree(s3, primary.base / "model", self._output_url("model.tar.gz"))
        upload_tree(s3, primary.base / "output" / "data", self._output_url("output.tar.gz"))
        if checkpoint_uri := (job.checkpoint_config or {}).get("S3Uri"):
            for instance in self._instances:
                upload_prefix(s3, self._checkpoint_dir(instance), checkpoint_uri)
        if self._stop_reason:
            return self._stopped_outcome()
        if failed:
            return Outcome("Failed", "Failed", "Training job failed", self._failure_reason(codes))
        return Outcome("Completed", "Completed", "Training job completed")

    def _lay_out(self) -> list[Instance]:
        """Each instance's /opt/ml as SageMaker writes it before starting the container."""
        job = self.job
        count = int(job.resource_config.get("InstanceCount", 1))
        addresses = loopback_addresses(count)
        created = int(time.time())
        channels = {
            channel["ChannelName"]: {
                "TrainingInputMode": channel.get("InputMode")
                or job.algorithm_specification.get("TrainingInputMode", "File"),
                "S3DistributionType": s3_source(channel).get(
                    "S3DataDistributionType", "FullyReplicated"
                ),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            }
            for channel in job.input_data_config or []
        }
        instances = []
        for number, address in enumerate(addresses, start=1):
            base = self.work_dir / f"algo-{number}"
            config = base / "input" / "config"
            config.mkdir(parents=True)
            for folder in ("model", "output/data", "checkpoints"):
                (base / folder).mkdir(parents=True, exist_ok=True)
            write_json(config / "hyperparameters.json", job.hyper_parameters or {})
            write_json(config / "inputdataconfig.json", channels)
            write_json(
                config / "resourceconfig.json",
                {
                    "current_host": address,
                    "current_instance_type": job.resource_config.get("InstanceType"),
                    "hosts": addresses,
                    "network_interface_name": "lo",
                },
            )
            instances.append(
                Instance(f"algo-{number}", address, base, f"{self.name}/algo-{number}-{created}")
            )
        return instances

    def _download_channels(self, s3, instance: Instance, index: int) -> None:
        for channel in self.job.input_data_config or []:
            source = s3_source(channel)
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise JobInputError(
                    f"channel {channel['ChannelName']}: local mode reads S3Prefix data sources "
                    f"only, not {source['S3DataType']}"
                )
            keys = list_keys(s3, source["S3Uri"])
            if not keys:
                raise JobInputError(
                    f'No S3 objects found under S3 URL "{source["S3Uri"]}" given in input data '
                    f"source. Please ensure that the bucket exists in the selected region "
                    f"({self.endpoint.region}), that objects exist under that S3 prefix, and "
                    f"that the role {self.job.role_arn} has s3:ListBucket permissions"
                )
            if source.get("S3DataDistributionType") == "ShardedByS3Key":
                keys = keys[index :: len(self._instances) or 1]
            target = instance.base / "input" / "data" / channel["ChannelName"]
            download_keys(s3, source["S3Uri"], keys, target)

    def _checkpoint_dir(self, instance: Instance) -> Path:
        local = (self.job.checkpoint_config or {}).get("LocalPath", "/opt/ml/checkpoints")
        return instance.base / Path(local).relative_to("/opt/ml")

    def _output_url(self, file: str) -> str:
        path = self.job.output_data_config["S3OutputPath"].rstrip("/")
        return f"{path}/{self.name}/output/{file}"

    def _start_instances(self) -> list[threading.Thread]:
        logs = self.endpoint.client("logs")
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=LOG_GROUP)
        threads = max(1, (os.cpu_count() or 1) // len(self._instances))
        framework = framework_module(self.job.algorithm_specification.get("TrainingImage", ""))
        pumps = []
        for instance in self._instances:
            environment = host_environment()
            environment.update(
                self.endpoint.environment(),
                SAGEMAKER_BASE_DIR=str(instance.base),
                TRAINING_JOB_NAME=self.name,
                TRAINING_JOB_ARN=self.job.arn,
                OMP_NUM_THREADS=str(threads),
                PYTHONUNBUFFERED="1",
            )
            if framework:
                environment["SAGEMAKER_TRAINING_MODULE"] = framework
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=instance.log_stream)
            with self._lock:
                if self._stop_reason:
                    break
                instance.process = subprocess.Popen(
                    [str(self.toolkit)],
                    cwd=instance.base,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopped as one
                )
            stream = Stream(
                instance.log_stream,
                f"{self.name}/{instance.name}",
                self.endpoint.client("logs"),
                self.endpoint.client("cloudwatch"),
            )
            definitions = self.job.algorithm_specification.get("MetricDefinitions") or []
            pump = LogPump(instance.process.stdout, stream, definitions, self.record_metric)
            pump.start()
            pumps.append(pump)
        return pumps

    def _wait_for_instances(self) -> list[int]:
        """Every instance's exit code. One that fails ends the others (they would wait for it
        forever); the job's MaxRuntimeInSeconds stops the job; a stop kills after its grace."""
        max_runtime = (self.job.stopping_condition or {}).get("MaxRuntimeInSeconds", 86400)
        deadline = time.monotonic() + int(max_runtime)
        peer_failed_at = None
        processes = [i.process for i in self._instances if i.process is not None]
        while any(process.poll() is None for process in processes):
            time.sleep(0.2)
            moment = time.monotonic()
            if moment > deadline:
                self.stop("MaxRuntimeExceeded")
            failed = [i for i, process in enumerate(processes) if process.poll() not in (None, 0)]
            if failed and peer_failed_at is None:
                peer_failed_at = moment
                self._first_failed = failed[0]  # the others end because it did
                with self._lock:
                    self._signal(signal.SIGTERM)
            late = peer_failed_at is not None and moment > peer_failed_at + PEER_FAILURE_GRACE_S
            if late or moment > self._stop_deadline:
                with self._lock:
                    self._signal(signal.SIGKILL)
        self._wait_for_descendants()
        return [process.returncode for process in processes]

    def _wait_for_descendants(self, patience_s: float = 5) -> None:
        """What the entry point still does after the toolkit has gone (saving the model in a
        stop's grace period) ends before the upload: SIGKILL at the stop's deadline, or after
        ``patience_s``."""
        deadline = self._stop_deadline if self._stop_reason else time.monotonic() + patience_s
        while any(group_alive(pid) for pid in self.process_groups()):
            if time.monotonic() > deadline:
                with self._lock:
                    self._signal(signal.SIGKILL)
                return
            time.sleep(0.1)

    def process_groups(self) -> list[int]:
        """The process group of each instance that started (its toolkit's pid)."""
        return [i.process.pid for i in self._instances if i.process is not None]

    def _signal(self, number: int) -> None:
        for pid in self.process_groups():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, number)

    def _failure_reason(self, codes: list[int]) -> str:
        """The first failed instance's failure file (the toolkit writes the error there), as
        SageMaker reports it."""
        order = list(zip(self._instances, codes, strict=True))
        first = self._first_failed
        for instance, code in order[first : first + 1] + order:
            if code == 0:
                continue
            failure = instance.base / "output" / "failure"
            detail = (
                failure.read_text(errors="replace").strip()
                if failure.is_file()
                else f"{instance.name} exited with code {code} and wrote no failure file"
            )
            return f"AlgorithmError: {detail}"[:FAILURE_REASON_LIMIT]
        return "AlgorithmError: an instance failed"

    def _stopped_outcome(self) -> Outcome:
        if self._stop_reason == "MaxRuntimeExceeded":
            return Outcome(
                "Stopped",
                "MaxRuntimeExceeded",
                "Training job stopped because it exceeded MaxRuntimeInSeconds",
            )
        return Outcome("Stopped", "Stopped", "Training job stopped")

    # -- statuses ----------------------------------------------------------------------------

    def _waiting_for_rendezvous(self, holder: str) -> None:
        message = f"Waiting for the rendezvous port, which {holder} holds on this machine."
        logger.info("%s: %s", self.job.training_job_name, message)
        with self._lock:
            self.job.secondary_status_transitions[-1]["StatusMessage"] = message

    def _transition(self, status: str, message: str) -> None:
        moment = now()
        transitions = self.job.secondary_status_transitions
        if transitions:
            transitions[-1]["EndTime"] = moment
        transitions.append({"Status": status, "StartTime": moment, "StatusMessage": message})
        self.job.secondary_status = status
        self.job.last_modified_time = moment

    def _finish(self, outcome: Outcome, seconds: float) -> None:
        job = self.job
        with self._lock:
            self._transition(outcome.secondary, outcome.message)
            job.secondary_status_transitions[-1]["EndTime"] = job.last_modified_time
            job.training_end_time = job.last_modified_time
            job.training_time_in_seconds = job.billable_time_in_seconds = max(1, round(seconds))
            if outcome.failure_reason:
                job.failure_reason = outcome.failure_reason
            job.training_job_status = outcome.status
            self.done.set()
        logger.info("training job %s: %s", self.name, outcome.status)

    def record_metric(self, name: str, value: float, timestamp: datetime) -> None:
        """The latest value of each metric definition, as FinalMetricDataList shows it."""
        with self._lock:
            latest = [m for m in self.job.final_metric_data_list if m["MetricName"] != name]
            latest.append({"MetricName": name, "Value": value, "Timestamp": timestamp})
            self.job.final_metric_data_list = latest
