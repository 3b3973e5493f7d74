"""The demo's SageMaker flow (``--flow sagemaker``): the operator CLI in-process, and a training
job followed as the SageMaker Python SDK's ``fit(logs=True)`` follows one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from botocore.exceptions import ClientError

from local_stack.emulator.job_logs import LOG_GROUP

ENDED = frozenset({"Completed", "Failed", "Stopped"})


class FlowError(RuntimeError):
    """A step of the SageMaker flow did not do what it says; the message says what happened."""


def hyperparameters_of(train_args: list[str]) -> list[str]:
    """``--hyperparameter NAME=VALUE`` for each ``ml/train.py`` flag: ``--no-X`` is X=false."""
    flags: list[str] = []
    arguments = iter(train_args)
    for flag in arguments:
        name = flag.removeprefix("--")
        if name.startswith("no-"):
            value = f"{name.removeprefix('no-')}=false"
        else:
            value = f"{name}={next(arguments)}"
        flags += ["--hyperparameter", value]
    return flags


def operator(*argv: str) -> str:
    """``python -m mlops ARGV`` in this process: what it prints, or FlowError for its exit."""
    from mlops.cli import main  # boto3 and the operator CLI: only in this flow

    try:
        return main(list(argv))
    except SystemExit as exited:
        raise FlowError(
            f"python -m mlops {argv[0]} exited with {exited.code} (its error is above)"
        ) from None


def new_log_lines(logs, job: str, tokens: dict[str, str]) -> Iterator[str]:
    """The lines each of the job's log streams gained since the last call."""
    try:
        streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/")
    except logs.exceptions.ResourceNotFoundException:
        return  # the group appears with the first job that logs, as on AWS
    for stream in sorted(s["logStreamName"] for s in streams.get("logStreams", [])):
        page = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        if stream in tokens:
            page["nextToken"] = tokens[stream]
        answer = logs.get_log_events(**page)
        tokens[stream] = answer["nextForwardToken"]
        for event in answer["events"]:
            yield f"[{stream.split('/')[-1]}] {event['message']}"


def follow_training_job(
    sagemaker,
    logs,
    job: str,
    on_line: Callable[[str], None],
    timeout_s: float,
    poll_s: float = 1.0,
) -> dict:
    """Each status change and log line of the job until it ends; its description, Completed."""
    tokens: dict[str, str] = {}
    said = None
    deadline = time.monotonic() + timeout_s
    while True:
        description = sagemaker.describe_training_job(TrainingJobName=job)
        status = (description["TrainingJobStatus"], description.get("SecondaryStatus"))
        if status != said:
            on_line(f"{job}: {status[0]} ({status[1]})")
            said = status
        for line in new_log_lines(logs, job, tokens):
            on_line(line)
        if status[0] in ENDED:
            break
        if time.monotonic() > deadline:
            raise FlowError(f"training job {job} is still {status[0]} after {timeout_s:.0f} s")
        time.sleep(poll_s)
    if status[0] != "Completed":
        reason = description.get("FailureReason", "no reason given")
        raise FlowError(f"training job {job} ended {status[0]}: {reason}")
    return description


def stop_unless_ended(sagemaker, job: str, timeout_s: float = 180, poll_s: float = 1.0) -> None:
    """StopTrainingJob, then its end awaited: what it uploads must land before a teardown
    deletes the bucket."""

    def status() -> str:
        return sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"]

    if status() == "InProgress":
        try:
            sagemaker.stop_training_job(TrainingJobName=job)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ValidationException":
                raise  # else it ended in between: nothing to stop
    deadline = time.monotonic() + timeout_s
    while status() not in ENDED:
        if time.monotonic() > deadline:
            raise FlowError(f"training job {job} did not stop within {timeout_s:.0f} s")
        time.sleep(poll_s)
