"""Local mode: the emulator runs the SageMaker jobs it is asked to create, the Lambda
functions it is asked to invoke and the models its endpoints name, instead of only recording
them.

With local mode on (the default for ``make emulator`` and the demo; the test session turns it
on only where a test runs jobs), CreateTrainingJob starts the job for real
(``local_stack.emulator.training``) and StopTrainingJob stops it; every client of the
emulator (boto3, the AWS CLI, ``python -m mlops``, Terraform) sees the job's real statuses,
log, metrics and artifacts. With it off, moto's answer stands: a job is Completed at once and
writes nothing. Lambda's Invoke runs the function's code (``functions``), InvokeEndpoint
is answered by the endpoint's model (``endpoints``), InvokeEndpointAsync's queue is served by
it (``async_inference``) and CreateTransformJob runs the model over the input objects
(``transforms``).

The hooks are patches of moto's SageMaker responses, installed once per process (moto's
backends are per process too); the ``LocalMode`` of the emulator that process started does
the work.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.emulator import async_inference, endpoints, functions, transforms
from local_stack.emulator.training import STOP_GRACE_S, Endpoint, TrainingRun
from local_stack.emulator.tuning import TuningRun

logger = logging.getLogger(__name__)

# The SageMaker training toolkit's container entry point, beside this interpreter.
DEFAULT_TOOLKIT = Path(sys.executable).with_name("train")


@dataclass
class LocalMode:
    """The jobs an emulator runs, and how.

    enabled: whether jobs run at all (off: moto's instant, empty Completed).
    toolkit: the training toolkit's ``train`` that each instance runs (another Python
        environment's, e.g. a training image's versions, runs the job there).
    stop_grace_s: seconds between SIGTERM and SIGKILL when a job is stopped.
    trials_at_a_time: a tuning job's trials that run at once, at most (and at most its own
        MaxParallelTrainingJobs): one by default, as a laptop trains one model well at a time.
    endpoints: the model servers InvokeEndpoint reaches (``endpoints.LocalEndpoints``).
    """

    endpoint: Endpoint
    enabled: bool = True
    toolkit: Path = DEFAULT_TOOLKIT
    stop_grace_s: float = STOP_GRACE_S
    trials_at_a_time: int = 1
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="local-mode-")))
    endpoints: endpoints.LocalEndpoints = field(init=False, repr=False)
    async_queues: async_inference.AsyncQueues = field(init=False, repr=False)
    _runs: dict[str, TrainingRun] = field(default_factory=dict, repr=False)
    _tunings: dict[str, TuningRun] = field(default_factory=dict, repr=False)
    _transforms: dict[str, transforms.TransformRun] = field(default_factory=dict, repr=False)
    _function_processes: list[subprocess.Popen] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.endpoints = endpoints.LocalEndpoints(self.endpoint, self.work_dir / "endpoints")
        self.async_queues = async_inference.AsyncQueues(self.endpoints, self.endpoint)

    def training_job_created(self, job) -> TrainingRun | None:
        """Run ``job`` (a training job moto has just recorded) when local mode is on."""
        return self._start_training(job) if self.enabled else None

    def _start_training(self, job) -> TrainingRun:
        run = TrainingRun(job, self.endpoint, self.work_dir, self.toolkit, self.stop_grace_s)
        with self._lock:
            self._runs[run.name] = run
        logger.info("local mode: running training job %s", run.name)
        run.begin()
        return run

    def tuning_job_created(self, backend, job) -> bool:
        """Run the trials of ``job`` (a tuning job moto has just recorded) when local mode
        is on; whether it does."""
        if not self.enabled:
            return False
        run = TuningRun(backend, job, self._start_training, self.trials_at_a_time)
        with self._lock:
            self._tunings[run.name] = run
        logger.info("local mode: running tuning job %s", run.name)
        run.begin()
        return True

    def transform_job_created(self, backend, job) -> bool:
        """Run ``job`` (a transform job moto has just recorded) when local mode is on; whether
        it does."""
        if not self.enabled:
            return False
        run = transforms.TransformRun(backend, job, self.endpoints, self.endpoint)
        with self._lock:
            self._transforms[run.name] = run
        logger.info("local mode: running transform job %s", run.name)
        run.begin()
        return True

    def invoke_function(self, fn, event: bytes, asynchronous: bool) -> functions.Invocation | None:
        """Run the Lambda function ``fn`` on ``event``: its answer, or None at once when
        ``asynchronous`` (InvocationType Event), the invocation going on in a thread."""
        if asynchronous:
            threading.Thread(target=self._invoke, args=(fn, event), daemon=True).start()
            return None
        return self._invoke(fn, event)

    def _invoke(self, fn, event: bytes) -> functions.Invocation:
        return functions.invoke(fn, event, self.endpoint, self.work_dir, self._function_started)

    def _function_started(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._function_processes[:] = [p for p in self._function_processes if p.poll() is None]
            self._function_processes.append(process)

    def run_of(self, name: str) -> TrainingRun | None:
        with self._lock:
            return self._runs.get(name)

    def tuning_run_of(self, name: str) -> TuningRun | None:
        with self._lock:
            return self._tunings.get(name)

    def stop_all(self) -> None:
        """Stop every tuning and transform job and asynchronous queue, kill every training job
        and invocation still running, wait for each job to record how it ended, and stop every
        model server."""
        with self._lock:
            tunings, runs = list(self._tunings.values()), list(self._runs.values())
            batch = list(self._transforms.values())
            self._tunings.clear()
            self._runs.clear()
            self._transforms.clear()
            invocations, self._function_processes = self._function_processes, []
        for process in invocations:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for tuning in tunings:
            tuning.stop()
        for run in runs:
            run.kill()
        for transform in batch:
            transform.stop()
        self.async_queues.stop()
        self.endpoints.stop_all()  # the transforms' servers too: their requests end
        self.async_queues.wait()
        for job in [*runs, *tunings, *batch]:
            job.wait(timeout=30)
        self.endpoints.stop_all()

    def shutdown(self) -> None:
        self.stop_all()
        shutil.rmtree(self.work_dir, ignore_errors=True)


# The local modes of the emulators this process started, the newest last: moto's backends
# are one per process, so the newest emulator's runs the jobs until it stops.
_installed: list[LocalMode] = []
_patched = False


def install(local_mode: LocalMode) -> None:
    """Make ``local_mode`` the one moto's SageMaker answers go through in this process."""
    global _patched
    _installed.append(local_mode)
    if not _patched:
        _patch_moto()
        _patched = True


def uninstall(local_mode: LocalMode) -> None:
    if local_mode in _installed:
        _installed.remove(local_mode)


def active() -> LocalMode | None:
    return _installed[-1] if _installed else None


def tuning_job_created(backend, job) -> bool:
    """The tuning shim's question: does local mode run this tuning job's trials?"""
    return (mode := active()) is not None and mode.tuning_job_created(backend, job)


def async_request_received(backend, request: async_inference.AsyncRequest) -> None:
    """The InvokeEndpointAsync shim's hand-over: local mode serves the request, or (off) it
    stays queued, as on an endpoint without instances."""
    if (mode := active()) is not None:
        mode.async_queues.submit(backend, request, serve=mode.enabled)


def _patch_moto() -> None:
    from moto.core.responses import EmptyResult
    from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    create_training_job = SageMakerResponse.create_training_job

    def create(self):
        answer = create_training_job(self)
        if (mode := active()) is not None:
            name = self._get_param("TrainingJobName")
            mode.training_job_created(self.sagemaker_backend.training_jobs[name])
        return answer

    def stop_training_job(self):
        """API_StopTrainingJob: Stopping, then Stopped; a job that has ended is refused."""
        name = self._get_param("TrainingJobName")
        job = self.sagemaker_backend.training_jobs.get(name)
        if job is None:
            raise ResourceNotFound(message=f"Training job {name} does not exist")
        run = mode.run_of(name) if (mode := active()) is not None else None
        return stopped_or_refused(run, "training job", job.training_job_status)

    def stop_hyper_parameter_tuning_job(self):
        """API_StopHyperParameterTuningJob: a tuning job that has ended is refused."""
        name = self._get_param("HyperParameterTuningJobName")
        job = self.sagemaker_backend.hyper_parameter_tuning_jobs.get(name)
        if job is None:
            raise ResourceNotFound(message=f"Amazon SageMaker can't find a tuning job named {name}")
        run = mode.tuning_run_of(name) if (mode := active()) is not None else None
        return stopped_or_refused(run, "tuning job", job.hyper_parameter_tuning_job_status)

    def stopped_or_refused(run, kind: str, status: str) -> EmptyResult:
        """A run local mode stops, or SageMaker's refusal for a job that has ended (or that
        local mode does not run)."""
        if run is None or not run.stop():
            raise ValidationError(
                message=f"The request was rejected because the {kind} is in status {status}."
            )
        return EmptyResult()

    functions.patch_moto(active)
    endpoints.patch_moto(active)
    transforms.patch_moto(active)
    SageMakerResponse.create_training_job = create
    SageMakerResponse.stop_training_job = stop_training_job
    SageMakerResponse.stop_hyper_parameter_tuning_job = stop_hyper_parameter_tuning_job
