"""`make demo` in its fast mode: the whole pipeline against the emulator, torn down after."""

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local_stack.demo import pipeline
from local_stack.demo.pipeline import steps_of
from local_stack.serving.endpoint import running_torchserve
from ml.errors import UserError
from tests.images import sample_image
from tests.training import REPO_ROOT, python_env, run_module

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.terraform]

STEPS = steps_of("boot")  # make demo's
SAME_ANSWER = re.compile(
    r"POST http://127\.0\.0\.1:\d+/_aws/execute-api/\w+/classify answered the same"
)


def wait_for_torchserve_to_end() -> None:
    """A server the previous test stopped may still be exiting (its JVM shuts down in seconds)."""
    deadline = time.monotonic() + 30
    while running_torchserve() and time.monotonic() < deadline:
        time.sleep(1)
    assert running_torchserve() == [], "another TorchServe is running; the demo needs its own"


def wait_for_line(lines: queue.Queue, pattern: re.Pattern, seen: list[str]) -> re.Match:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if found := pattern.search(line):
            return found
    raise AssertionError(f"the demo never printed {pattern.pattern}:\n{''.join(seen)[-6000:]}")


def follow(process: subprocess.Popen) -> queue.Queue:
    """The process's output lines as they come (None at its end), read in a thread."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def classify(api_url: str, image: Path, origin: str) -> tuple[int, dict, str | None]:
    """POST the image as the page does from the browser: its status, body and the CORS
    origin it is allowed for."""
    request = urllib.request.Request(
        api_url,
        data=image.read_bytes(),
        headers={"Content-Type": "image/jpeg", "Origin": origin},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            allowed = answer.headers.get("access-control-allow-origin")
            return answer.status, json.load(answer), allowed
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), error.headers.get("access-control-allow-origin")


def test_demo_runs_end_to_end_names_the_breed_and_keeps_the_page_up(tmp_path, terraform_binary):
    """KEEP=1 with a free port: the whole pipeline, then the page's API (the HTTP API's local
    address, the deployed Lambda behind it) answers until a stop request, and teardown still
    leaves nothing running."""
    wait_for_torchserve_to_end()
    work_dir = tmp_path / "demo"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_stack.demo",
            "--fast",
            "--keep",
            "--ui-port",
            "0",
            "--emulator-port",
            "0",  # its own emulator: never another run's, whatever answers on 4566
            "--work-dir",
            str(work_dir),
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = follow(demo)
    seen: list[str] = []
    try:
        page_url = wait_for_line(
            lines, re.compile(r"open (http://127\.0\.0\.1:\d+/) and drop"), seen
        )[1]
        with urllib.request.urlopen(page_url, timeout=30) as page:
            assert "Which dog is this?" in page.read().decode()
        with urllib.request.urlopen(f"{page_url}config.json", timeout=30) as config:
            api_url = json.load(config)["apiUrl"]  # the HTTP API's local address
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/_aws/execute-api/\w+/classify", api_url)
        origin = page_url.rstrip("/")
        image = sample_image(work_dir / "data", "001.Affenpinscher")
        status, answer, allowed = classify(api_url, image, origin)
        assert (status, allowed) == (200, origin), answer
        assert len(answer["predictions"]) == 5
        assert answer["model_version"] == "models/demo"
        # int8 by default, unless it agreed too little with fp32 and the log said so.
        left_out = any("int8 model left out" in line for line in seen)
        precision = answer["precision"]
        assert precision == ("fp32" if left_out else "int8"), seen[-40:]
        status, answer, _ = classify(api_url, REPO_ROOT / "web" / "index.html", origin)
        assert (status, answer["error"]["code"]) == (415, "unsupported_media_type")
        assert_the_operator_cli_works_as_the_banner_says("".join(seen))
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=300)
    wait_for_line(lines, re.compile(r"the demo took"), seen)
    log = "".join(seen)
    assert demo.returncode == 0, log[-6000:]
    for number, step in enumerate(STEPS, start=1):
        assert f"[{number}/{len(STEPS)}] {step.title}: done" in log
    assert "Top breeds for Alaskan_malamute_00000.jpg (true breed: Alaskan malamute):" in log
    top = log.split("(true breed: Alaskan malamute):")[1].splitlines()[1]
    assert "Alaskan malamute" in top
    # A label, no account id; the precision as the page's answer said it.
    assert f"(endpoint dogs-demo, model models/demo, {precision})" in log
    assert "train_on_boot: run demo finished; model at" in log  # the boot script's own output
    assert re.search(SAME_ANSWER, log)  # the Lambda invoked, then the HTTP API's address
    assert "terraform destroy: done" in log
    assert running_torchserve() == [], "the demo left TorchServe running"
    assert re.search(r"moto server listening on http://127\.0\.0\.1:\d+", log)
    assert re.search(r"aws_s3_bucket\.\S+: Creation complete after", log)  # apply's progress


def test_the_sagemaker_flow_trains_a_job_then_deploys_the_approved_version(
    tmp_path, terraform_binary
):
    """FLOW=sagemaker: a SageMaker training job that the demo's own emulator runs in local mode
    (its status changes and log shown as they come), then mlops register, approve, deploy with
    terraform apply, and verify; the endpoint serves the registry's version, and teardown
    empties the registry before Terraform deletes it."""
    wait_for_torchserve_to_end()
    work_dir = str(tmp_path / "demo")
    result = run_module(
        "local_stack.demo", "--fast", "--flow", "sagemaker", "--work-dir", work_dir, timeout=600
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    steps = steps_of("sagemaker")
    for number, step in enumerate(steps, start=1):
        assert f"[{number}/{len(steps)}] {step.title}: done" in log
    job = re.search(r"started training job (dogs-demo-train-\d{6}-\d{6})", log)[1]
    assert f"{job}: InProgress (Training)" in log
    assert re.search(r"\[algo-1-\d+\] .* INFO ml\.train: epoch 2/2 metrics", log)  # the job's log
    assert f"{job}: Completed (Completed)" in log
    assert "dogs-demo-models/1: PendingManualApproval -> Approved" in log
    assert (
        "serving arn:aws:sagemaker:us-east-1:123456789012:model-package/dogs-demo-models/1" in log
    )
    assert re.search(r"\(endpoint dogs-demo, model dogs-demo-models/1, (int8|fp32)\)", log)
    assert re.search(SAME_ANSWER, log)
    assert "terraform destroy: done" in log
    assert running_torchserve() == [], "the demo left TorchServe running"


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return run_module("local_stack.demo", *args)


def test_a_missing_dataset_stops_the_demo_before_it_starts_in_one_line(tmp_path):
    missing = tmp_path / "no-such-dataset"
    result = run_demo("--data", str(missing), "--work-dir", str(tmp_path / "demo"))
    log = result.stdout + result.stderr
    assert result.returncode == 1, log
    assert log.strip() == f"the demo cannot start: DATA {missing} does not exist or is not a folder"
    assert not (tmp_path / "demo").exists(), "nothing may be created or emptied"


def test_a_work_dir_the_demo_did_not_make_is_never_emptied(tmp_path):
    work_dir = tmp_path / "mine"
    work_dir.mkdir()
    (work_dir / "notes.txt").write_text("keep me")
    result = run_demo("--work-dir", str(work_dir))
    assert result.returncode == 1
    assert (
        "is not empty and was not made by the demo: choose another" in result.stdout + result.stderr
    )
    assert (work_dir / "notes.txt").read_text() == "keep me"


def test_a_failure_midway_is_one_line_then_the_teardown(tmp_path):
    """Step 2 meets a port another process holds (EMULATOR_PORT): the terminal gets the step
    that failed and why, in a line each, the traceback goes to the log file, and the timing
    comes after the teardown."""
    work_dir = tmp_path / "demo"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "local_stack.demo",
                "--fast",
                "--emulator-port",
                str(port),
                "--work-dir",
                str(work_dir),
            ],
            cwd=REPO_ROOT,
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    terminal = result.stdout + result.stderr
    assert result.returncode == 1, terminal
    assert "Traceback" not in terminal
    assert f"[2/{len(STEPS)}] {STEPS[1].title} FAILED after" in terminal
    (reason,) = [line for line in terminal.splitlines() if "the demo failed:" in line]
    assert f"port {port} on 127.0.0.1 is taken" in reason
    assert f"(the full traceback is in {work_dir / 'demo.log'})" in terminal
    assert "Traceback" in (work_dir / "demo.log").read_text()
    assert terminal.rstrip().splitlines()[-1].endswith("s, teardown included")


def test_ctrl_c_stops_a_demo_started_without_a_terminal(tmp_path):
    """A shell without job control starts background commands with SIGINT ignored: Ctrl-C (a
    SIGINT) still tears the demo down."""
    work_dir = tmp_path / "demo"
    command = [sys.executable, "-m", "local_stack.demo", "--fast", "--emulator-port", "0"]
    demo = subprocess.Popen(
        [*command, "--work-dir", str(work_dir)],
        cwd=REPO_ROOT,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    lines = follow(demo)
    seen: list[str] = []
    try:
        wait_for_line(lines, re.compile(rf"\[2/{len(STEPS)}\] {STEPS[1].title}: done"), seen)
        demo.send_signal(signal.SIGINT)
        wait_for_line(lines, re.compile(r"the demo took"), seen)
        demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    log = "".join(seen)
    assert demo.returncode == 1, log
    assert "interrupted" in log
    assert "tearing down" in log


def test_data_without_reachable_imagenet_weights_stops_before_anything(tmp_path, monkeypatch):
    """DATA trains from ImageNet weights: not cached and not downloadable (no network: the
    download is the one thing faked here), the demo names the make variable that fixes it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(pipeline.urllib.request, "urlopen", offline)
    (tmp_path / "dogImages").mkdir()
    args = pipeline.get_parser().parse_args(["--data", str(tmp_path / "dogImages")])
    with pytest.raises(UserError) as refused:
        pipeline.check_inputs(args)
    message = str(refused.value)
    assert "make demo DATA=... BACKBONE_WEIGHTS=path/to/resnet50.pth" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    pipeline.check_inputs(args)  # in the cache: nothing to download


def assert_the_operator_cli_works_as_the_banner_says(log: str) -> None:
    """The KEEP banner's exports and command, run as printed: the stack's endpoint listed."""
    exports = re.search(r"^\s+export (.+)$", log, re.MULTILINE)[1].split()
    command = re.search(r"^\s+\.venv/bin/python -m mlops (status .+)$", log, re.MULTILINE)[1]
    result = subprocess.run(
        [sys.executable, "-m", "mlops", *command.split()],
        cwd=REPO_ROOT,
        env={**python_env(), **dict(item.split("=", 1) for item in exports)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^endpoint\s+dogs-demo\s+InService", result.stdout, re.MULTILINE)
