"""A SageMaker hyperparameter tuning job run for real by the emulator's local mode.

As SageMaker runs one: the strategy's candidates, each a training job of its own named
``<tuning job>-<NNN>-<8 hex>`` with the static and the tuned hyperparameters, run by local
mode (``training``), at most MaxParallelTrainingJobs at a time and never more than local mode's
``trials_at_a_time``; each trial's objective is the last value of the objective metric its
metric definition matched in the trial's log (FinalMetricDataList); the best trial is the
lowest (Minimize) or highest (Maximize) of the trials that reported one.

Candidates: Grid walks the categorical ranges' product in order. Random draws each range
(logarithmic ranges on a log scale) with the job's RandomSeed, or one derived from its name.
Bayesian and Hyperband choose their next candidates from the results so far with models
SageMaker does not publish; here they draw as Random does, so their candidates differ from
AWS's while everything else (trials, objective, best trial, counters) is as AWS reports it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def draw(parameter_range: dict, kind: str, rng: random.Random) -> str:
    """One value of a parameter range, as the string SageMaker passes a tuned value as."""
    if kind == "CategoricalParameterRanges":
        return rng.choice(parameter_range["Values"])
    low, high = float(parameter_range["MinValue"]), float(parameter_range["MaxValue"])
    if kind == "IntegerParameterRanges":
        if parameter_range.get("ScalingType") == "Logarithmic":
            return str(round(math.exp(rng.uniform(math.log(low), math.log(high)))))
        return str(rng.randint(int(low), int(high)))
    if parameter_range.get("ScalingType") == "Logarithmic":
        return f"{math.exp(rng.uniform(math.log(low), math.log(high))):.6g}"
    return f"{rng.uniform(low, high):.6g}"


def candidates(config: dict, name: str) -> list[dict[str, str]]:
    """The tuned hyperparameters of each trial, in order."""
    limit = config.get("ResourceLimits", {}).get("MaxNumberOfTrainingJobs")
    ranges = config.get("ParameterRanges", {})
    if config.get("Strategy") == "Grid":  # the whole grid unless a limit is set
        categorical = ranges.get("CategoricalParameterRanges", [])
        names = [r["Name"] for r in categorical]
        grid = itertools.product(*(r["Values"] for r in categorical))
        return [dict(zip(names, values, strict=True)) for values in grid][:limit]
    seed = config.get("RandomSeed")
    if seed is None:
        seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    rng = random.Random(seed)
    return [
        {
            parameter_range["Name"]: draw(parameter_range, kind, rng)
            for kind, kind_ranges in sorted(ranges.items())
            for parameter_range in kind_ranges
        }
        for _ in range(limit or 1)
    ]


def create_trial_job(backend, tuning_job, number: int, tuned: dict[str, str]):
    """The training job of trial ``number``, created in moto as SageMaker names it."""
    definition = tuning_job.training_job_definition
    suffix = hashlib.sha1(f"{tuning_job.arn}/{number}".encode()).hexdigest()[:8]
    job = backend.create_training_job(
        training_job_name=f"{tuning_job.hyper_parameter_tuning_job_name}-{number:03d}-{suffix}",
        hyper_parameters={**definition.get("StaticHyperParameters", {}), **tuned},
        algorithm_specification=dict(definition["AlgorithmSpecification"]),
        role_arn=definition["RoleArn"],
        input_data_config=definition.get("InputDataConfig"),
        output_data_config=definition["OutputDataConfig"],
        resource_config=definition["ResourceConfig"],
        vpc_config=definition.get("VpcConfig"),
        stopping_condition=definition["StoppingCondition"],
        tags=[],
        enable_network_isolation=definition.get("EnableNetworkIsolation", False),
        enable_inter_container_traffic_encryption=definition.get(
            "EnableInterContainerTrafficEncryption", False
        ),
        enable_managed_spot_training=definition.get("EnableManagedSpotTraining", False),
        checkpoint_config=definition.get("CheckpointConfig"),
        debug_hook_config=None,
        debug_rule_configurations=None,
        tensor_board_output_config=None,
        experiment_config=None,
    )
    job.tuning_job_arn = tuning_job.arn
    return job


def trial_summary(tuning_job, job, tuned: dict[str, str]) -> dict:
    """The trial as ListTrainingJobsForHyperParameterTuningJob lists it (HyperParameter-
    TrainingJobSummary), while it runs."""
    return {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TuningJobName": tuning_job.hyper_parameter_tuning_job_name,
        "CreationTime": job.creation_time,
        "TrainingJobStatus": job.training_job_status,
        "TunedHyperParameters": tuned,
        "ObjectiveStatus": "Pending",
    }


def record_outcome(summary: dict, job, objective: dict) -> None:
    """A trial that ended: its status, times and objective (Failed when it reported none)."""
    summary["TrainingJobStatus"] = job.training_job_status
    summary["TrainingStartTime"] = job.training_start_time or job.creation_time
    summary["TrainingEndTime"] = job.training_end_time
    if getattr(job, "failure_reason", None):
        summary["FailureReason"] = job.failure_reason
    name = objective["MetricName"]
    values = [m["Value"] for m in job.final_metric_data_list if m["MetricName"] == name]
    if job.training_job_status == "Completed" and values:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": values[-1],
        }
        summary["ObjectiveStatus"] = "Succeeded"
    else:
        summary["ObjectiveStatus"] = "Failed"


def best_of(trials: list[dict], objective: dict) -> dict | None:
    scored = [t for t in trials if "FinalHyperParameterTuningJobObjectiveMetric" in t]
    if not scored:
        return None
    pick = min if objective["Type"] == "Minimize" else max
    return pick(scored, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def counters(trials: list[dict]) -> tuple[dict[str, int], dict[str, int]]:
    """TrainingJobStatusCounters and ObjectiveStatusCounters. A failed trial is a
    NonRetryableError: an AlgorithmError or a ClientError is not retried."""
    statuses = [t["TrainingJobStatus"] for t in trials]
    jobs = {
        "Completed": statuses.count("Completed"),
        "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
        "RetryableError": 0,
        "NonRetryableError": statuses.count("Failed"),
        "Stopped": statuses.count("Stopped"),
    }
    objectives = [t["ObjectiveStatus"] for t in trials]
    return jobs, {name: objectives.count(name) for name in ("Succeeded", "Pending", "Failed")}


class TuningRun:
    """A tuning job of moto's (``tuning_job``) run for real in a thread of its own;
    ``start_training`` runs a trial's training job and returns its TrainingRun."""

    def __init__(self, backend, tuning_job, start_training: Callable, trials_at_a_time: int):
        self.backend = backend
        self.job = tuning_job
        self.name: str = tuning_job.hyper_parameter_tuning_job_name
        self.start_training = start_training
        limits = tuning_job.hyper_parameter_tuning_job_config.get("ResourceLimits", {})
        self.at_a_time = max(1, min(limits.get("MaxParallelTrainingJobs", 1), trials_at_a_time))
        self.done = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._runs: list = []
        self._thread = threading.Thread(target=self._run, name=f"tuning-{self.name}", daemon=True)

    def begin(self) -> None:
        job = self.job
        job.hyper_parameter_tuning_job_status = "InProgress"
        job.trials = []
        job.best_training_job = job.OverallBestTrainingJob = None
        job.hyper_parameter_tuning_end_time = None
        job.tuning_job_completion_details = None
        job.consumed_resources = None
        self._count()
        self._thread.start()

    def stop(self) -> bool:
        """API_StopHyperParameterTuningJob: Stopping, every running trial stopped, Stopped."""
        with self._lock:
            if self.done.is_set() or self._stopping.is_set():
                return False
            self._stopping.set()
            self.job.hyper_parameter_tuning_job_status = "Stopping"
            runs = list(self._runs)
        for run in runs:
            run.stop()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def _run(self) -> None:
        config = self.job.hyper_parameter_tuning_job_config
        objective = config["HyperParameterTuningJobObjective"]
        running: list[tuple[dict, object]] = []
        try:
            for number, tuned in enumerate(candidates(config, self.name), start=1):
                while len(running) >= self.at_a_time:
                    running = self._collect(running, objective)
                if self._stopping.is_set():
                    break
                job = create_trial_job(self.backend, self.job, number, tuned)
                summary = trial_summary(self.job, job, tuned)
                run = self.start_training(job)
                with self._lock:
                    self._runs.append(run)
                    self.job.trials.append(summary)
                running.append((summary, run))
                self._count()
            while running:
                running = self._collect(running, objective)
        except Exception as error:  # reported on the job, as SageMaker reports its faults
            logger.exception("local mode could not run tuning job %s", self.name)
            self.job.failure_reason = f"InternalServerError: {error}"
        self._finish(objective)

    def _collect(self, running: list, objective: dict) -> list:
        """Wait for a trial to end, record it; the trials still running."""
        while not any(run.done.is_set() for _, run in running):
            running[0][1].wait(timeout=0.5)
        still = []
        for summary, run in running:
            if run.done.is_set():
                record_outcome(summary, run.job, objective)
            else:
                still.append((summary, run))
        self._count()
        return still

    def _count(self) -> None:
        job = self.job
        job.training_job_status_counters, job.objective_status_counters = counters(job.trials)
        job.best_training_job = job.OverallBestTrainingJob = best_of(
            job.trials, job.hyper_parameter_tuning_job_config["HyperParameterTuningJobObjective"]
        )
        job.last_modified_time = now()

    def _finish(self, objective: dict) -> None:
        job = self.job
        with self._lock:
            self._count()
            job.hyper_parameter_tuning_end_time = job.last_modified_time
            if self._stopping.is_set():
                job.hyper_parameter_tuning_job_status = "Stopped"
            elif job.best_training_job is None:
                job.hyper_parameter_tuning_job_status = "Failed"
                job.failure_reason = job.failure_reason or (
                    f"No training job reported the objective metric {objective['MetricName']}: "
                    "see the trials' FailureReason and logs"
                )
            else:
                job.hyper_parameter_tuning_job_status = "Completed"
            self.done.set()
        logger.info("tuning job %s: %s", self.name, job.hyper_parameter_tuning_job_status)
