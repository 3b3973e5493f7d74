"""The notebook's idle stop (modules/notebook_instance/templates/autostop.py), run for real:
against a local fake of the Jupyter REST API and a notebook instance in the emulator."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from local_stack.emulator import client
from local_stack.ports import free_port
from tests.slow_servers import DrippingServer
from tests.training import REPO_ROOT

pytestmark = pytest.mark.integration

SCRIPT = REPO_ROOT / "terraform" / "modules" / "notebook_instance" / "templates" / "autostop.py"


def load_autostop():
    spec = importlib.util.spec_from_file_location("autostop", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


autostop = load_autostop()


def stamp(now: datetime, minutes_ago: float) -> str:
    return (now - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


class FakeJupyter:
    """/api/status, /api/kernels and /api/sessions answering what the test sets, and, as
    jupyter_server's APIHandler does, counting every kernels or sessions request as activity
    (the status' last_activity) unless it carries no_track_activity."""

    def __init__(self):
        self.answers: dict[str, object] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path not in owner.answers:
                    self.send_error(404)
                    return
                if path != "/api/status" and "no_track_activity" not in parse_qs(query):
                    owner.answers["/api/status"]["last_activity"] = stamp(datetime.now(UTC), 0)
                body = json.dumps(owner.answers[path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, server_idle: float, kernels: list[tuple[str, float]]) -> None:
        """Server last active ``server_idle`` minutes ago; kernels (state, minutes idle)."""
        now = datetime.now(UTC)
        kernel_list = [
            {"id": f"k{i}", "execution_state": state, "last_activity": stamp(now, minutes)}
            for i, (state, minutes) in enumerate(kernels)
        ]
        self.answers = {
            "/api/status": {"last_activity": stamp(now, server_idle), "kernels": len(kernels)},
            "/api/kernels": kernel_list,
            "/api/sessions": [{"id": f"s{k['id']}", "kernel": k} for k in kernel_list],
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jupyter():
    fake = FakeJupyter()
    yield fake
    fake.close()


@pytest.fixture
def notebook(emulator) -> str:
    sagemaker = client("sagemaker", emulator)
    name = f"nb-{uuid.uuid4().hex[:8]}"
    sagemaker.create_notebook_instance(
        NotebookInstanceName=name,
        InstanceType="ml.t2.medium",
        RoleArn="arn:aws:iam::123456789012:role/notebook",
    )
    return name


def status(emulator, name: str) -> str:
    return client("sagemaker", emulator).describe_notebook_instance(NotebookInstanceName=name)[
        "NotebookInstanceStatus"
    ]


def arguments(jupyter_url: str, name: str, idle_minutes: float, lock_file: Path) -> list[str]:
    return [
        *("--idle-minutes", str(idle_minutes), "--jupyter-url", jupyter_url),
        *("--notebook-name", name, "--lock-file", str(lock_file)),
    ]


def run(jupyter_url: str, name: str, idle_minutes: float, lock_file: Path) -> int:
    return autostop.main(arguments(jupyter_url, name, idle_minutes, lock_file))


def cron_run(jupyter_url: str, name: str, lock_file: Path, deadline_s: float) -> subprocess.Popen:
    """The script started as cron starts it: a process of its own."""
    return subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            *arguments(jupyter_url, name, 1, lock_file),
            *("--deadline-seconds", str(deadline_s)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class TricklingJupyter(DrippingServer):
    """A Jupyter whose answers arrive a byte every 0.2 s (no read ever times out, no answer
    ever ends), and that says when a run has connected."""

    def __init__(self):
        super().__init__()
        self.connected = threading.Event()

    def process_request(self, request, client_address):
        self.connected.set()
        super().process_request(request, client_address)


def finished(process: subprocess.Popen, within_s: float) -> str:
    """The process's output once it has ended, or a failure (and the process killed)."""
    try:
        return process.communicate(timeout=within_s)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"still running after {within_s} s: {process.communicate()[0]}")


def test_every_kernel_idle_past_the_limit_stops_the_instance(emulator, jupyter, notebook, tmp_path):
    jupyter.set(server_idle=95, kernels=[("idle", 90), ("idle", 120)])
    assert run(jupyter.url, notebook, 60, tmp_path / "lock") == 0
    assert status(emulator, notebook) == "Stopped"


def test_its_own_checks_do_not_count_as_activity(jupyter):
    """Cron runs it every five minutes: a check 35 minutes after the first must still see
    the server idle since before the first."""
    jupyter.set(server_idle=30, kernels=[("idle", 30)])
    now = datetime.now(UTC)
    assert 29 < autostop.idle_minutes(jupyter.url, now) < 31
    assert autostop.idle_minutes(jupyter.url, now + timedelta(minutes=35)) > 64


def test_no_kernels_and_an_idle_server_stops_the_instance(emulator, jupyter, notebook, tmp_path):
    jupyter.set(server_idle=61, kernels=[])
    run(jupyter.url, notebook, 60, tmp_path / "lock")
    assert status(emulator, notebook) == "Stopped"


@pytest.mark.parametrize(
    ("server_idle", "kernels", "limit"),
    [
        (90, [("busy", 90), ("idle", 120)], 60),  # a kernel is running a cell
        (90, [("idle", 10), ("idle", 120)], 60),  # one kernel was active recently
        (5, [("idle", 90)], 60),  # someone used Jupyter (a tab, a terminal) recently
        (600, [("idle", 600)], 0),  # the idle stop is off
    ],
    ids=["busy-kernel", "recent-kernel", "recent-server", "limit-0"],
)
def test_recent_or_ongoing_work_leaves_the_instance_running(
    emulator, jupyter, notebook, server_idle, kernels, limit, tmp_path
):
    jupyter.set(server_idle=server_idle, kernels=kernels)
    assert run(jupyter.url, notebook, limit, tmp_path / "lock") == 0
    assert status(emulator, notebook) == "InService"


def test_a_jupyter_that_does_not_answer_never_stops_the_instance(
    emulator, notebook, caplog, tmp_path
):
    assert run(f"http://127.0.0.1:{free_port()}", notebook, 1, tmp_path / "lock") == 0
    assert status(emulator, notebook) == "InService"
    assert "Jupyter did not answer, so the instance stays up" in caplog.text


def test_an_answer_it_does_not_understand_never_stops_the_instance(
    emulator, jupyter, notebook, tmp_path
):
    jupyter.answers = {"/api/status": {}, "/api/kernels": "nonsense", "/api/sessions": []}
    assert run(jupyter.url, notebook, 1, tmp_path / "lock") == 0
    assert status(emulator, notebook) == "InService"


def test_a_trickling_jupyter_ends_the_run_at_its_deadline(emulator, notebook, tmp_path):
    """Without the deadline this run would read for hours: each byte comes before the read's
    own timeout. With it, the run ends in about a second and the instance stays up."""
    with TricklingJupyter() as jupyter:
        started = time.monotonic()
        output = finished(cron_run(jupyter.url, notebook, tmp_path / "lock", 1), within_s=30)
        took = time.monotonic() - started
    assert "no decision within 1 s, so the instance stays up" in output
    assert 1 <= took < 4, output  # the deadline, and the interpreter's start
    assert status(emulator, notebook) == "InService"


def test_a_run_never_overlaps_the_one_still_going(emulator, notebook, tmp_path, caplog):
    lock = tmp_path / "lock"
    with TricklingJupyter() as jupyter:
        first = cron_run(jupyter.url, notebook, lock, 2)
        assert jupyter.connected.wait(timeout=20), finished(first, within_s=5)
        started = time.monotonic()
        assert run(jupyter.url, notebook, 1, lock) == 0
        second_took = time.monotonic() - started
        output = finished(first, within_s=30)
    assert f"the previous run still holds {lock}: this one ends" in caplog.text
    assert second_took < 1
    assert "no decision within 2 s, so the instance stays up" in output
    assert status(emulator, notebook) == "InService"


def test_the_script_needs_only_the_standard_library_and_boto3():
    """It runs under the notebook's Python (its syntax is checked for 3.7 in
    test_templates.py, with the on-start script that installs it)."""
    imports = {
        line.split()[1].split(".")[0]
        for line in SCRIPT.read_text().splitlines()
        if line.strip().startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    assert imports <= {
        *("argparse", "contextlib", "fcntl", "json", "logging", "signal", "ssl", "sys"),
        *("urllib", "datetime", "boto3"),
    }
