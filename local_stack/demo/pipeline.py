"""The whole pipeline on one machine, against the embedded AWS emulator (`make demo`).

    python -m local_stack.demo [--data path/to/dogImages] [--flow sagemaker] [--keep] [--fast]

The demo is a list of steps (``steps_of``): each is a title and a function of the shared
``Context``; they run in order, each numbered and timed, and whatever a step starts it
registers for teardown, which always runs, on success, failure or Ctrl-C. The model trains as
the EC2 instance does at boot (``--flow boot``), or as the data scientist's flow does it
(``--flow sagemaker``): a SageMaker training job, which the emulator runs in local mode, then
the registry and the endpoint through the operator CLI (register, approve, deploy, verify).
Either way the last steps classify a photo as a client of the deployed stack does: the
emulator serves the endpoint's model and runs the Lambda's code (local mode), through Lambda's
Invoke and through the HTTP API's local address.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import shutil
import signal
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

from botocore.config import Config

from local_stack.demo.boot import run_train_on_boot
from local_stack.demo.jobs import (
    follow_training_job,
    hyperparameters_of,
    operator,
    stop_unless_ended,
)
from local_stack.demo.sample_data import generate
from local_stack.demo.stack import cli_pointer
from local_stack.demo.terraform import REPO_ROOT, Terraform, make_workspace
from local_stack.emulator import Emulator, client, local_address, start_moto
from local_stack.ports import free_port
from local_stack.serving.page import WebServer
from ml.data import DatasetError, check_same_classes, scan_split
from ml.errors import UserError
from ml.s3_transfer import upload_dir

logger = logging.getLogger("demo")
RUN_ID = "demo"
# Short enough for every name python -m mlops makes from it (--prefix dogs-demo).
STACK_NAME = "dogs-demo"
# A work dir holding this file was made by the demo, and the demo may empty it.
WORK_DIR_MARK = ".local-stack-demo"
# The boot script's lines carry their own timestamp; the demo's log adds one already.
LEADING_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T][0-9:.,]+Z? ")


@dataclass
class Context:
    """What the steps share: the options, and what each step leaves for the next."""

    args: argparse.Namespace
    teardown: ExitStack
    data: Path | None = None
    emulator: Emulator | None = None
    terraform: Terraform | None = None
    variables: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    model_data_url: str = ""
    training_job: str = ""
    model_package: str = ""
    image: Path | None = None
    answer: dict = field(default_factory=dict)

    @property
    def work_dir(self) -> Path:
        return self.args.work_dir


def train_args(fast: bool, real_data: bool, backbone_weights: Path | None = None) -> list[str]:
    if real_data:
        weights = ["--backbone-weights", str(backbone_weights)] if backbone_weights else []
        return ["--arch", "resnet50", "--epochs", "3", "--workers", "2", *weights]
    return [
        "--arch",
        "resnet18",
        "--no-pretrained",
        "--no-freeze-backbone",
        "--image-size",
        "32" if fast else "64",
        "--epochs",
        "2" if fast else "3",
        "--batch-size",
        "16",
        "--workers",
        "0",
    ]


def prepare_dataset(ctx: Context) -> None:
    if ctx.args.data is None:
        ctx.data = generate(
            ctx.work_dir / "data",
            classes=5,
            per_class=16 if ctx.args.fast else 24,
            eval_per_class=4,
            size=48,
            seed=1,
        )
        return
    ctx.data = ctx.args.data
    train = scan_split(ctx.data / "train")  # main() checked that the folder exists
    for split in ("valid", "test"):
        check_same_classes(
            train, ctx.data / "train", scan_split(ctx.data / split), ctx.data / split
        )
    logger.info("    %d breeds, %d training images", len(train.class_dirs), len(train))


def start_emulator(ctx: Context) -> None:
    """Its own, in local mode (the jobs, the deployed Lambda, the endpoint's model and the HTTP
    API run on it): on --emulator-port when given (0: any free port), else on 4566 unless
    that is taken, then on a free port."""
    ctx.emulator = start_moto(port=ctx.args.emulator_port)
    ctx.teardown.callback(ctx.emulator.stop)
    os.environ.update(ctx.emulator.environment())


def build_workspace(ctx: Context) -> None:
    ctx.terraform = Terraform(make_workspace(ctx.work_dir / "stack"))
    ctx.terraform.use_emulator(ctx.emulator)
    # apply takes a minute or more (S3 lifecycle rules alone: the provider waits 55 s for them
    # to read back): each resource as it is done, instead of a minute of silence.
    ctx.terraform.progress = lambda line: logger.info("    %s", line)
    ctx.variables = {"name": STACK_NAME, "training_run_id": RUN_ID}
    if ctx.args.keep:  # the page, served on this machine, calls the API from the browser
        ctx.args.ui_port = ctx.args.ui_port or free_port()  # its origin is known before
        origin = f"http://127.0.0.1:{ctx.args.ui_port}"
        ctx.variables["http_api"] = {"cors_allow_origins": [origin]}


def apply_storage_and_training(ctx: Context) -> None:
    ctx.terraform.init()
    ctx.teardown.callback(destroy, ctx.terraform, ctx.variables)
    ctx.terraform.apply(ctx.variables)
    ctx.outputs = ctx.terraform.outputs()


def upload_dataset(ctx: Context) -> None:
    upload_dir(ctx.data, f"s3://{ctx.outputs['bucket_name']}/data/")


def train_at_boot(ctx: Context) -> None:
    """ec2/train_on_boot.sh from the uploaded code bundle, its output shown as it comes."""
    instance = ctx.work_dir / "instance"
    bundle = ctx.work_dir / "code.tar.gz"
    client("s3", ctx.emulator).download_file(
        ctx.outputs["bucket_name"], "code/code.tar.gz", str(bundle)
    )
    with tarfile.open(bundle) as archive:
        archive.extractall(instance / "code", filter="data")
    result = run_train_on_boot(
        instance / "code",
        instance / "work",
        ctx.outputs["bucket_name"],
        RUN_ID,
        train_args(ctx.args.fast, ctx.args.data is not None, ctx.args.backbone_weights),
        on_line=lambda line: logger.info("    %s", LEADING_TIMESTAMP.sub("", line)),
    )
    if result.returncode != 0:
        raise RuntimeError(f"train_on_boot.sh exited with {result.returncode} (its log is above)")


def apply_endpoint(ctx: Context) -> None:
    ctx.model_data_url = f"{ctx.outputs['training_model_s3_prefix']}model.tar.gz"
    ctx.variables.update(model_data_url=ctx.model_data_url, create_http_api=True)
    ctx.terraform.apply(ctx.variables)
    ctx.outputs = ctx.terraform.outputs()


def operator_stack(ctx: Context) -> list[str]:
    return ["--terraform-dir", str(ctx.terraform.workdir), "--prefix", STACK_NAME]


def train_as_job(ctx: Context) -> None:
    """python -m mlops train, then the job followed to its end: status changes, its log."""
    flags = hyperparameters_of(
        train_args(ctx.args.fast, ctx.args.data is not None, ctx.args.backbone_weights)
    )
    sagemaker = client("sagemaker", ctx.emulator)
    ctx.training_job = operator("train", *operator_stack(ctx), *flags)
    ctx.teardown.callback(stop_unless_ended, sagemaker, ctx.training_job)
    description = follow_training_job(
        sagemaker,
        client("logs", ctx.emulator),
        ctx.training_job,
        on_line=lambda line: logger.info("    %s", LEADING_TIMESTAMP.sub("", line)),
        timeout_s=6 * 3600 if ctx.args.data else 900,
    )
    ctx.model_data_url = description["ModelArtifacts"]["S3ModelArtifacts"]


def register_and_approve(ctx: Context) -> None:
    ctx.model_package = operator("register", *operator_stack(ctx), "--from-job", ctx.training_job)
    ctx.teardown.callback(delete_package, ctx)  # Terraform deletes only an empty registry
    operator("approve", *operator_stack(ctx), ctx.model_package)


def deploy_package(ctx: Context) -> None:
    """mlops deploy names the variable (and prints it); Terraform applies it, and mlops verify
    checks that the endpoint serves it."""
    operator("deploy", *operator_stack(ctx), "--model-package", ctx.model_package)
    ctx.variables.update(model_package_arn=ctx.model_package, create_http_api=True)
    ctx.terraform.apply(ctx.variables)
    ctx.outputs = ctx.terraform.outputs()
    operator("verify", *operator_stack(ctx))


def delete_package(ctx: Context) -> None:
    client("sagemaker", ctx.emulator).delete_model_package(ModelPackageName=ctx.model_package)


def a_test_image(ctx: Context) -> Path:
    breed_folder = sorted(p for p in (ctx.data / "test").iterdir() if p.is_dir())[-1]
    return sorted(breed_folder.iterdir())[0]


def load_model(ctx: Context) -> None:
    """The first InvokeEndpoint has the emulator serve the endpoint's model (local mode: the
    SageMaker PyTorch serving stack, TorchServe) and waits until it is loaded; the Lambda's
    own calls wait seconds, not minutes."""
    ctx.image = a_test_image(ctx)
    runtime = client("sagemaker-runtime", ctx.emulator, config=Config(read_timeout=300))
    runtime.invoke_endpoint(
        EndpointName=ctx.outputs["endpoint_name"],
        Body=ctx.image.read_bytes(),
        ContentType="image/jpeg",
        Accept="application/json",
    )


def call_lambda(ctx: Context) -> None:
    """The deployed Lambda's live alias, invoked on the emulator (local mode runs its code,
    which calls the endpoint), then POST /classify at the HTTP API's local address: the same
    answer both ways."""
    image = ctx.image.read_bytes()
    event = {"image": base64.b64encode(image).decode(), "top_k": 3}
    invoked = client("lambda", ctx.emulator).invoke(
        FunctionName=ctx.outputs["lambda_alias_arn"], Payload=json.dumps(event).encode()
    )
    payload = json.loads(invoked["Payload"].read())
    if "FunctionError" in invoked or payload.get("statusCode") != 200:
        raise RuntimeError(f"the Lambda answered {payload}")
    ctx.answer = json.loads(payload["body"])
    url = classify_url(ctx)
    request = urllib.request.Request(
        f"{url}?top_k=3", data=image, headers={"Content-Type": "image/jpeg"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        through_api = json.loads(answer.read())
    if through_api != ctx.answer:
        raise RuntimeError(f"POST {url} answered {through_api}, the Lambda {ctx.answer}")
    logger.info("POST %s answered the same", url)


def classify_url(ctx: Context) -> str:
    return f"{local_address(ctx.emulator.endpoint_url, ctx.outputs['http_api_id'])}/classify"


def serve_page(ctx: Context) -> str:
    """KEEP=1: the dog-photo page, calling POST /classify at the HTTP API's local address."""
    try:
        web = WebServer(None, port=ctx.args.ui_port, api_url=classify_url(ctx))
    except OSError as error:
        raise UserError(
            f"the page cannot listen on port {ctx.args.ui_port} ({error.strerror}): "
            "choose another with UI_PORT=..."
        ) from error
    return ctx.teardown.enter_context(web).url


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[Context], None]


FIRST_STEPS = (
    Step("dataset: check DATA, or generate sample data (5 real breed names)", prepare_dataset),
    Step("start the embedded AWS emulator", start_emulator),
    Step("build the code bundle and the Lambda zip", build_workspace),
    Step(
        "terraform apply: bucket, roles, code bundle, training instance", apply_storage_and_training
    ),
    Step("upload the dataset to s3://BUCKET/data/", upload_dataset),
)
FLOWS = {
    "boot": (
        Step("train as the EC2 instance does at boot (ec2/train_on_boot.sh)", train_at_boot),
        Step(
            "terraform apply: endpoint, Lambda, HTTP API, alarms for the trained model",
            apply_endpoint,
        ),
    ),
    "sagemaker": (
        Step("train as a SageMaker training job (python -m mlops train)", train_as_job),
        Step(
            "register the job's model and approve it (mlops register, approve)",
            register_and_approve,
        ),
        Step("deploy the approved version: terraform apply, then mlops verify", deploy_package),
    ),
}
LAST_STEPS = (
    Step("InvokeEndpoint: the emulator serves the endpoint's model (TorchServe)", load_model),
    Step("classify a test image: the deployed Lambda, then the HTTP API's address", call_lambda),
)


def steps_of(flow: str) -> tuple[Step, ...]:
    return FIRST_STEPS + FLOWS[flow] + LAST_STEPS


def destroy(terraform: Terraform, variables: dict) -> None:
    logger.info("terraform destroy ...")
    terraform.destroy(variables)
    logger.info("terraform destroy: done")


def run_steps(ctx: Context) -> None:
    steps = steps_of(ctx.args.flow)
    for number, step in enumerate(steps, start=1):
        prefix = f"[{number}/{len(steps)}] {step.title}"
        logger.info("%s ...", prefix)
        started = time.perf_counter()
        try:
            step.run(ctx)
        except BaseException:
            logger.error("%s FAILED after %.1f s", prefix, time.perf_counter() - started)
            raise
        logger.info("%s: done in %.1f s", prefix, time.perf_counter() - started)


def report(ctx: Context) -> None:
    true_breed = ctx.image.parent.name.split(".", 1)[1].replace("_", " ")
    logger.info("")
    logger.info("Top breeds for %s (true breed: %s):", ctx.image.name, true_breed)
    for prediction in ctx.answer["predictions"]:
        logger.info("  %-28s %6.2f%%", prediction["breed"], 100 * prediction["probability"])
    logger.info(
        "(endpoint %s, model %s, %s)",
        ctx.answer["endpoint"],
        ctx.answer["model_version"],
        ctx.answer.get("precision", "precision not said"),
    )


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a dogImages folder (train/ valid/ test/); default: sample data",
    )
    parser.add_argument(
        "--backbone-weights",
        type=Path,
        default=None,
        help="with --data: a local ImageNet state dict for ResNet50, instead of downloading it",
    )
    parser.add_argument(
        "--flow",
        choices=sorted(FLOWS),
        default="boot",
        help="how the model trains and ships: boot (as the EC2 instance does at boot, then "
        "terraform apply; default) or sagemaker (a SageMaker training job run by the emulator's "
        "local mode, then mlops register, approve, deploy and verify)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave everything running, and serve the dog-photo page, until Ctrl-C",
    )
    parser.add_argument(
        "--ui-port",
        type=int,
        default=8000,
        help="with --keep: port of the page on 127.0.0.1 (default: 8000; 0 picks a free one)",
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=None,
        help="start the demo's own emulator on this port (0: any free one); default: reuse one "
        "that answers at LOCALSTACK_ENDPOINT or 4566, else start one",
    )
    parser.add_argument("--fast", action="store_true", help="smallest settings (for tests)")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO_ROOT / "build" / "demo",
        help="scratch folder, emptied first if the demo made it (default: build/demo)",
    )
    return parser


def check_inputs(args: argparse.Namespace) -> None:
    """What can be checked before anything starts, or anything is emptied."""
    if args.data is not None and not args.data.is_dir():
        raise DatasetError(f"DATA {args.data} does not exist or is not a folder")
    if args.backbone_weights is not None and not args.backbone_weights.is_file():
        raise UserError(f"--backbone-weights {args.backbone_weights}: no such file")
    if args.data is not None and args.backbone_weights is None:
        check_imagenet_weights()
    work_dir = args.work_dir
    if work_dir.exists() and any(work_dir.iterdir()) and not (work_dir / WORK_DIR_MARK).exists():
        raise UserError(
            f"--work-dir {work_dir} is not empty and was not made by the demo: choose another"
        )


def check_imagenet_weights(timeout: float = 5) -> None:
    """DATA trains ResNet50 from ImageNet weights: in the torch cache already, or downloadable
    now; otherwise the demo stops before anything is applied, naming what to pass."""
    from ml.model import imagenet_weights_file  # torch: only with DATA

    url, cached = imagenet_weights_file("resnet50")
    if cached.is_file():
        return
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
    raise UserError(
        f"DATA trains ResNet50 from ImageNet weights, which are not in {cached} and cannot be "
        f"downloaded from {url} ({reason}): make demo DATA=... BACKBONE_WEIGHTS=path/to/"
        "resnet50.pth (a ResNet50 ImageNet state dict; --backbone-weights when running the "
        "module), or put that file at the path above"
    )


def prepare_work_dir(work_dir: Path) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    (work_dir / WORK_DIR_MARK).touch()


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        check_inputs(args)
    except UserError as error:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logger.error("the demo cannot start: %s", error)
        return 1
    # A stop request tears down as Ctrl-C does: nothing left running. SIGINT too, which a
    # shell without job control starts a background command with ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    prepare_work_dir(args.work_dir)
    configure_logging(args.work_dir / "demo.log")
    started = time.perf_counter()
    ctx = Context(args, ExitStack())
    succeeded = False
    try:
        run_steps(ctx)
        report(ctx)
        if args.keep:
            page_url = serve_page(ctx)
            logger.info(
                "KEEP=1: emulator at %s, POST /classify at %s; Ctrl-C to tear down",
                ctx.emulator.endpoint_url,
                classify_url(ctx),
            )
            logger.info(
                "the operator CLI works on the demo's stack too (another terminal):\n%s",
                cli_pointer(ctx.emulator, ctx.terraform.workdir, STACK_NAME),
            )
            logger.info("open %s and drop a dog photo on the page", page_url)
            with suppress(KeyboardInterrupt):
                threading.Event().wait()
        succeeded = True
    except KeyboardInterrupt:
        logger.error("interrupted")
    except UserError as error:
        logger.error("the demo failed: %s", error)
    except Exception as error:
        logger.error("the demo failed: %s", error)
        logger.debug("the demo failed", exc_info=True)
        logger.error("(the full traceback is in %s)", args.work_dir / "demo.log")
    finally:
        if ctx.emulator is not None:
            logger.info("tearing down")
        ctx.teardown.close()
    logger.info("the demo took %.0f s, teardown included", time.perf_counter() - started)
    return 0 if succeeded else 1


def configure_logging(log_file: Path) -> None:
    """Progress on the terminal; the same, and tracebacks, in ``log_file``."""
    terminal = logging.StreamHandler()
    terminal.setLevel(logging.INFO)
    terminal.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    file = logging.FileHandler(log_file)
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[terminal, file])
    for noisy in (
        "werkzeug",
        "botocore",
        "boto3",
        "s3transfer",
        "urllib3",
        "matplotlib",
        "local_stack.demo.terraform",
        "ml.s3_transfer",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
