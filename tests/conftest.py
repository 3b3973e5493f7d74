"""Shared fixtures: the AWS emulator, the terraform binary and applied stack, sample data and a
trained model."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_stack.emulator import Emulator, connect_or_start, start_moto
from local_stack.environment import overlaid_environment
from local_stack.ports import free_port
from tests.shared_builds import built_once_per_run


@dataclass(frozen=True)
class TrainedModel:
    model_dir: Path
    checkpoint_dir: Path
    log: str


# Files whose tests must share one worker when the suite runs in parallel (make test):
# TorchServe runs once per host (the toolkit finds "its" server by scanning processes), and
# the applied stack is applied once. Every other file keeps its tests together and in order.
SHARED_WORKERS = {
    "torchserve": {
        "tests/lambda_invoker/test_end_to_end.py",
        "tests/local_stack/test_demo.py",
        "tests/local_stack/test_local_endpoint.py",
        "tests/local_stack/test_local_endpoints_on_the_emulator.py",
        "tests/web/test_page.py",
    },
    "applied-stack": {
        "tests/mlops/test_on_applied_stack.py",
        "tests/terraform/test_access_policies.py",
        "tests/terraform/test_applied_iam.py",
        "tests/terraform/test_apply.py",
        "tests/terraform/test_aws_rules.py",
        "tests/terraform/test_remote_state.py",
    },
}


# The scopes that take minutes (make test's --durations), handed out first: xdist's own order
# (most tests first) left a few-test, minutes-long file for the end, one worker idle meanwhile.
LONGEST_FIRST = (
    "torchserve",
    "tests/ec2/test_train_on_boot.py",
    "applied-stack",
    "tests/local_stack/test_local_stack.py",
    "tests/terraform/test_static.py",
    "tests/terraform/test_deployments.py",
    "tests/terraform/test_examples.py",
    "tests/test_readme_commands.py",
)


def scope_of(nodeid: str) -> str:
    """The unit a worker runs whole: a SHARED_WORKERS group, else the test's file."""
    path = nodeid.split("::", 1)[0]
    return next((name for name, files in SHARED_WORKERS.items() if path in files), path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LONGEST_FIRST's scopes first, each test keeping its place within its scope."""
    rank = {scope: index for index, scope in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(scope_of(item.nodeid), len(rank)))


# optionalhook: the parity environments run some of these tests without pytest-xdist.
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scheduler, scoped by SHARED_WORKERS: a group's files go to one worker,
    every other file's tests together to one worker, in collection order (LONGEST_FIRST).
    (xdist's own loadgroup cannot be used: it tags test IDs through an attribute pytest 9 no
    longer reads, so it groups nothing.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedWorkerScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    config.option.loadscopereorder = False
    return SharedWorkerScheduling(config, log)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One AWS emulator for the whole session (for each worker, in parallel runs: its own),
    with the standard AWS variables exported, and LOCALSTACK_ENDPOINT for child processes."""
    # Its own, on a port of its own: never one another run started (it may stop at any time)
    # and never a race for 4566. LOCALSTACK_ENDPOINT names an emulator to use instead.
    if os.environ.get("LOCALSTACK_ENDPOINT"):
        running = connect_or_start()
    else:
        # Local mode off: a test that runs jobs turns it on (the local_mode fixture).
        running = start_moto(port=free_port(), local_mode=False)
    try:
        with overlaid_environment(
            {**running.environment(), "LOCALSTACK_ENDPOINT": running.endpoint_url}
        ):
            yield running
    finally:
        running.stop()


@pytest.fixture
def local_mode(emulator):
    """The emulator's local mode on for one test: the SageMaker jobs it creates run for real
    (each instance a process of the training toolkit), and so do the Lambda functions it
    invokes; off again after, every job and invocation ended."""
    if emulator.local_mode is None:
        pytest.skip("local mode runs in the embedded emulator only, not in an external one")
    mode = emulator.local_mode
    settings = {"toolkit": mode.toolkit, "trials_at_a_time": mode.trials_at_a_time}
    model_server = mode.endpoints.model_server
    mode.enabled = True
    # Endpoints on the toolkit's handler service: TorchServe runs once per host, and the tests
    # of the "torchserve" group (SHARED_WORKERS) may be running one; those tests ask for it.
    mode.endpoints.model_server = "handler-service"
    try:
        yield mode
    finally:
        mode.enabled = False
        mode.stop_all()
        mode.endpoints.model_server = model_server
        for name, value in settings.items():  # a test may change them
            setattr(mode, name, value)


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    """The terraform binary; skipped with the reason when missing, but never in CI."""
    binary = shutil.which("terraform")
    if binary is None:
        reason = "terraform is not on PATH; install Terraform >= 1.10 to run the Terraform tests"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run every test)")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def applied_stack(tmp_path_factory, emulator, terraform_binary):
    """The whole Terraform stack applied to the emulator once, destroyed at the end."""
    from tests.stack import apply_stack

    with apply_stack(tmp_path_factory.mktemp("tf-apply"), emulator) as stack:
        yield stack


@pytest.fixture(scope="session")
def sample_dataset(request) -> Path:
    """A small dogImages-shaped dataset with learnable classes, generated once per run."""
    from local_stack.demo.sample_data import generate
    from tests.training import SAMPLE_CLASSES

    def build(folder: Path) -> None:
        generate(
            folder / "dogImages",
            classes=SAMPLE_CLASSES,
            per_class=24,
            eval_per_class=6,
            size=48,
            seed=3,
        )

    return built_once_per_run(request, "data", build) / "dogImages"


@pytest.fixture(scope="session")
def trained_model(request, sample_dataset: Path) -> TrainedModel:
    """One real training run (tiny settings) whose artifacts several tests read (never
    change), with the int8 check that training runs by default."""
    from tests.training import TINY_TRAIN_ARGS, run_train, split_args

    def build(root: Path) -> None:
        defaults = [arg for arg in TINY_TRAIN_ARGS if arg != "--no-package-int8"]
        result = run_train(
            *defaults, *split_args(sample_dataset, root / "model", root / "checkpoints")
        )
        (root / "train.log").write_text(result.stdout + result.stderr)

    root = built_once_per_run(request, "trained", build)
    return TrainedModel(root / "model", root / "checkpoints", (root / "train.log").read_text())


@pytest.fixture(scope="session")
def model_archive(request, trained_model: TrainedModel) -> Path:
    """The trained model's archive, fp32 only: the int8 copy training wrote is left out (the
    int8 tests have int8_archive)."""
    from ml.artifacts import INT8_WEIGHTS_FILE
    from ml.package import build_model_archive

    def build(root: Path) -> None:
        fp32_dir = root / "model"
        shutil.copytree(
            trained_model.model_dir, fp32_dir, ignore=shutil.ignore_patterns(INT8_WEIGHTS_FILE)
        )
        build_model_archive(fp32_dir, root / "model.tar.gz")

    return built_once_per_run(request, "archive", build) / "model.tar.gz"


@pytest.fixture(scope="module")
def local_endpoint(model_archive: Path):
    """The trained model on the SageMaker PyTorch serving stack (TorchServe). Module scope:
    the toolkit cannot run two model servers on one host, so none outlives its tests (the
    demo test starts its own). Two workers of one thread each: what the endpoint module runs
    on a 2-vCPU instance (ml.m5.large)."""
    from local_stack.serving.endpoint import LocalEndpoint, ModelServer

    with LocalEndpoint(model_archive, port=0, server=ModelServer.for_vcpus(2)) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def int8_archive(request, trained_model, sample_dataset) -> Path:
    """The trained model packaged with its int8 copy (``ml.package --int8``)."""
    from ml.package import Int8Options, build_model_archive

    options = Int8Options(sample_dataset / "valid", sample_dataset / "test", min_agreement=0.95)

    def build(root: Path) -> None:
        build_model_archive(trained_model.model_dir, root / "model.tar.gz", options)

    return built_once_per_run(request, "int8", build) / "model.tar.gz"


@pytest.fixture(scope="session")
def extracted(int8_archive, tmp_path_factory) -> Path:
    """The int8 archive as the endpoint's model dir."""
    import tarfile

    folder = tmp_path_factory.mktemp("int8-extracted")
    with tarfile.open(int8_archive) as archive:
        archive.extractall(folder, filter="data")
    return folder
