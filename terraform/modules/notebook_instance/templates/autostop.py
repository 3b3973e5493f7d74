"""Stop this SageMaker notebook instance once Jupyter has been idle long enough.

    python3 autostop.py --idle-minutes 60

The lifecycle configuration's on-start script installs this file and runs it from cron every
five minutes. It asks the notebook's own Jupyter server for its status, kernels and sessions:
the instance is idle when no kernel is busy and nothing (a kernel, a session, a browser tab)
has been active for the given minutes; then it calls StopNotebookInstance on itself. Its own
requests carry ``no_track_activity``, or Jupyter would count each check as activity and the
instance would never be idle. A Jupyter server that does not answer never leads to a stop.

One run ends within ``--deadline-seconds`` (default 120, under cron's five minutes) whatever
Jupyter does, a server that trickles bytes included: a timer interrupts whatever is still
waiting, and a run that runs out of time leaves the instance up. A run never overlaps
another: it holds an exclusive lock on ``--lock-file`` while it runs, and a run that finds
the lock taken ends at once. Standard library and boto3 only (both are in the notebook's
system environment), Python 3.7+.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import signal
import ssl
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone

logger = logging.getLogger("autostop")

METADATA_FILE = "/opt/ml/metadata/resource-metadata.json"
# Jupyter on a notebook instance: HTTPS on localhost with a self-signed certificate.
JUPYTER_URL = "https://localhost:8443"
# Cron starts a run every five minutes: each one is over well before the next.
DEADLINE_SECONDS = 120.0
# Root's alone (cron runs this as root): no notebook user can hold it and so block the stop.
LOCK_FILE = "/run/notebook-autostop.lock"


class JupyterUnavailableError(RuntimeError):
    pass


class DeadlineExceededError(BaseException):
    """The run's time is up. A BaseException, as KeyboardInterrupt is, so that no library's
    ``except Exception`` (a retry loop) takes it for an error to retry."""


def _time_is_up(signum, frame):
    raise DeadlineExceededError


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise DeadlineExceededError in whatever the block still waits on after ``seconds``
    (a read that gets a byte now and then included): SIGALRM interrupts the system call."""
    previous = signal.signal(signal.SIGALRM, _time_is_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def locked(handle) -> bool:
    """Whether this run now holds ``handle``'s file exclusively (False: another run does)."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def get_json(url: str, timeout: float = 10):
    """GET ``url`` without counting as user activity (jupyter_server's no_track_activity)."""
    url = f"{url}?no_track_activity=1"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # localhost's self-signed certificate
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
            return json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise JupyterUnavailableError(f"{url}: {error}") from error


def parse_time(text: str) -> datetime:
    """Jupyter's ISO timestamps ('2026-11-24T09:00:00.123456Z')."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def idle_minutes(jupyter_url: str, now: datetime) -> float:
    """Minutes since the last activity anywhere in Jupyter; 0 while a kernel is busy."""
    status = get_json(f"{jupyter_url}/api/status")
    kernels = get_json(f"{jupyter_url}/api/kernels")
    sessions = get_json(f"{jupyter_url}/api/sessions")
    try:
        if any(kernel.get("execution_state") == "busy" for kernel in kernels):
            return 0.0
        moments = [status["last_activity"]]
        moments += [kernel.get("last_activity") for kernel in kernels]
        moments += [(session.get("kernel") or {}).get("last_activity") for session in sessions]
        latest = max(parse_time(moment) for moment in moments if moment)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise JupyterUnavailableError(f"unexpected answer from {jupyter_url}: {error!r}") from error
    return max(0.0, (now - latest).total_seconds() / 60)


def notebook_name(metadata_file: str) -> str:
    with open(metadata_file) as metadata:
        return json.load(metadata)["ResourceName"]


def positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds over 0, got {text}")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--idle-minutes", type=float, required=True, help="stop after this long idle; 0: never"
    )
    parser.add_argument("--jupyter-url", default=JUPYTER_URL, help="(default: %(default)s)")
    parser.add_argument("--notebook-name", help=f"(default: from {METADATA_FILE})")
    parser.add_argument(
        "--deadline-seconds",
        type=positive,
        default=DEADLINE_SECONDS,
        help="end the run, leaving the instance up, after this long (default: %(default)s)",
    )
    parser.add_argument("--lock-file", default=LOCK_FILE, help="(default: %(default)s)")
    return parser.parse_args(argv)


def check_and_stop(args) -> int:
    """Stop the instance if Jupyter has been idle for ``args.idle_minutes``."""
    try:
        idle = idle_minutes(args.jupyter_url, datetime.now(timezone.utc))
    except JupyterUnavailableError as error:
        logger.warning("Jupyter did not answer, so the instance stays up: %s", error)
        return 0
    if idle < args.idle_minutes:
        logger.info("idle for %.0f of %.0f minutes", idle, args.idle_minutes)
        return 0
    import boto3  # only needed to stop

    name = args.notebook_name or notebook_name(METADATA_FILE)
    logger.info("idle for %.0f minutes: stopping notebook instance %s", idle, name)
    boto3.client("sagemaker").stop_notebook_instance(NotebookInstanceName=name)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s autostop: %(message)s"
    )
    if args.idle_minutes <= 0:
        logger.info("idle stop is off")
        return 0
    with contextlib.ExitStack() as held:
        try:
            lock = held.enter_context(open(args.lock_file, "a"))
        except OSError as error:
            logger.warning("no lock file (%s), so the instance stays up", error)
            return 0
        if not locked(lock):
            logger.info("the previous run still holds %s: this one ends", args.lock_file)
            return 0
        try:
            with deadline(args.deadline_seconds):
                return check_and_stop(args)
        except DeadlineExceededError:
            logger.warning(
                "no decision within %g s, so the instance stays up (unless a stop request "
                "had gone out)",
                args.deadline_seconds,
            )
            return 0


if __name__ == "__main__":
    sys.exit(main())
