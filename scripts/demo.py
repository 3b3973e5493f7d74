"""The whole pipeline on one machine, against the embedded AWS emulator (`make demo`).

    python scripts/demo.py [--data path/to/dogImages] [--keep] [--fast]

Steps: sample data, emulator, build artifacts, terraform apply (storage, roles, training
instance), upload data, the EC2 boot-time training script as the instance runs it, terraform
apply with the trained model (endpoint, Lambda, alarms), the model served locally on the
SageMaker serving stack, the Lambda handler called with a sample image, then teardown.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import logging
import os
import shutil
import sys
import tarfile
import threading
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from types import SimpleNamespace

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ml.s3_transfer import upload_dir  # noqa: E402 (needs the path above)
from ml.sample_data import generate  # noqa: E402
from tests.aws import client  # noqa: E402
from tests.ec2.boot import run_train_on_boot  # noqa: E402
from tests.emulator import connect_or_start  # noqa: E402
from tests.terraform.workspace import make_workspace  # noqa: E402
from tests.terraform_cli import Terraform  # noqa: E402

logger = logging.getLogger("demo")
RUN_ID = "demo"


class Steps:
    """Numbered steps with timings; a failure names the step that failed."""

    def __init__(self, total: int):
        self.total, self.number = total, 0

    def run(self, title: str, action):
        self.number += 1
        logger.info("[%d/%d] %s ...", self.number, self.total, title)
        started = time.perf_counter()
        try:
            result = action()
        except BaseException as error:
            logger.error(
                "[%d/%d] %s FAILED after %.1f s: %s",
                self.number,
                self.total,
                title,
                time.perf_counter() - started,
                error,
            )
            raise
        logger.info(
            "[%d/%d] %s: done in %.1f s",
            self.number,
            self.total,
            title,
            time.perf_counter() - started,
        )
        return result


def train_args(fast: bool, real_data: bool) -> list[str]:
    if real_data:
        return ["--arch", "resnet50", "--epochs", "3", "--workers", "2"]
    epochs = "2" if fast else "3"
    return [
        "--arch",
        "resnet18",
        "--no-pretrained",
        "--no-freeze-backbone",
        "--image-size",
        "32" if fast else "64",
        "--epochs",
        epochs,
        "--batch-size",
        "16",
        "--workers",
        "0",
    ]


def run_boot_script(code_dir: Path, work_dir: Path, bucket: str, hyperparameters: list[str]):
    result = run_train_on_boot(code_dir, work_dir, bucket, RUN_ID, hyperparameters)
    for line in result.stdout.splitlines():
        if "metrics:" in line or "train_on_boot:" in line:
            logger.info("    %s", line.split(" ", 2)[-1])
    if result.returncode != 0:
        raise RuntimeError(f"train_on_boot.sh exited {result.returncode}:\n{result.stdout[-3000:]}")


def call_lambda(emulator, endpoint_url: str, function_name: str, image: Path) -> dict:
    """The handler in-process (moto never runs Lambda code) with the deployed function's
    environment; its sagemaker-runtime calls go to the local serving stack."""
    functions = client("lambda", emulator)
    configuration = functions.get_function_configuration(FunctionName=function_name)
    os.environ.update(configuration["Environment"]["Variables"])
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = endpoint_url
    sys.path.insert(0, str(REPO_ROOT / "lambda"))
    import lambda_function

    handler = importlib.reload(lambda_function)
    event = {"image": base64.b64encode(image.read_bytes()).decode(), "top_k": 3}
    answer = handler.lambda_handler(event, SimpleNamespace(aws_request_id="demo-request"))
    if answer["statusCode"] != 200:
        raise RuntimeError(f"the Lambda answered {answer['statusCode']}: {answer['body']}")
    return json.loads(answer["body"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a dogImages folder (train/ valid/ test/); default: sample data",
    )
    parser.add_argument("--keep", action="store_true", help="leave everything running until Ctrl-C")
    parser.add_argument("--fast", action="store_true", help="smallest settings (for tests)")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO_ROOT / "build" / "demo",
        help="scratch folder (emptied first)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("werkzeug", "botocore", "tests.terraform_cli", "ml.s3_transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    steps = Steps(total=9)
    started = time.perf_counter()

    with ExitStack() as cleanup:
        try:
            if args.data:
                data = args.data
                steps.run(f"dataset {data}", lambda: None)
            else:
                data = steps.run(
                    "generate sample data (5 real breed names)",
                    lambda: generate(
                        args.work_dir / "data",
                        classes=5,
                        per_class=16 if args.fast else 24,
                        eval_per_class=4,
                        size=48,
                        seed=1,
                    ),
                )

            emulator = steps.run("start the embedded AWS emulator", connect_or_start)
            cleanup.callback(emulator.stop)
            os.environ.update(emulator.environment())

            terraform = Terraform(
                steps.run(
                    "build the code bundle and the Lambda zip",
                    lambda: make_workspace(args.work_dir / "stack"),
                )
            )
            terraform.use_emulator(emulator)
            ami = client("ec2", emulator).describe_images(Owners=["amazon"])["Images"][0]
            variables = {
                "name": "dog-breeds-demo",
                "ami_id": ami["ImageId"],
                "lambda_provisioned_concurrency": 0,
                "force_destroy_bucket": "true",
                "training_run_id": RUN_ID,
            }

            def first_apply():
                terraform.init()
                terraform.apply(variables)
                cleanup.callback(lambda: steps_teardown(terraform, variables))
                return terraform.outputs()

            outputs = steps.run(
                "terraform apply: bucket, roles, code bundle, training instance", first_apply
            )
            bucket = outputs["bucket_name"]
            steps.run(
                f"upload the dataset to s3://{bucket}/data/",
                lambda: upload_dir(data, f"s3://{bucket}/data/"),
            )

            def boot_training():
                bundle = args.work_dir / "instance"
                client("s3", emulator).download_file(
                    bucket, "code/code.tar.gz", str(args.work_dir / "code.tar.gz")
                )
                with tarfile.open(args.work_dir / "code.tar.gz") as archive:
                    archive.extractall(bundle / "code", filter="data")
                run_boot_script(
                    bundle / "code",
                    bundle / "work",
                    bucket,
                    train_args(args.fast, args.data is not None),
                )

            steps.run(
                "train as the EC2 instance does at boot (ec2/train_on_boot.sh)", boot_training
            )
            model_url = f"{outputs['training_model_s3_prefix']}model.tar.gz"
            variables["model_data_url"] = model_url

            def second_apply():
                terraform.apply(variables)
                return terraform.outputs()

            outputs = steps.run(
                f"terraform apply: endpoint, Lambda, alarms for {model_url}", second_apply
            )

            def serve():
                from ml.serve import LocalEndpoint

                archive = args.work_dir / "model.tar.gz"
                client("s3", emulator).download_file(
                    bucket, f"models/{RUN_ID}/model.tar.gz", str(archive)
                )
                return cleanup.enter_context(LocalEndpoint(archive, port=0))

            endpoint = steps.run("serve the model on the SageMaker PyTorch serving stack", serve)
            test_dir = data / "test"
            breed_folder = sorted(p for p in test_dir.iterdir() if p.is_dir())[-1]
            image = sorted(breed_folder.iterdir())[0]
            answer = steps.run(
                f"call the Lambda handler with {image.name}",
                lambda: call_lambda(emulator, endpoint.url, outputs["lambda_function_name"], image),
            )
        except BaseException:
            logger.error("the demo failed; tearing down what it started")
            raise

        logger.info("")
        logger.info(
            "Top breeds for %s (true breed: %s):",
            image.name,
            breed_folder.name.split(".", 1)[1].replace("_", " "),
        )
        for prediction in answer["predictions"]:
            logger.info("  %-28s %6.2f%%", prediction["breed"], 100 * prediction["probability"])
        logger.info("(endpoint %s, model %s)", answer["endpoint"], answer["model_version"])
        logger.info("the demo took %.0f s", time.perf_counter() - started)
        if args.keep:
            logger.info(
                "KEEP=1: emulator at %s, endpoint at %s; Ctrl-C to tear down",
                os.environ["AWS_ENDPOINT_URL"],
                endpoint.url,
            )
            with suppress(KeyboardInterrupt):
                threading.Event().wait()
        logger.info("tearing down")
    return 0


def steps_teardown(terraform: Terraform, variables: dict) -> None:
    logger.info("terraform destroy ...")
    terraform.destroy(variables)
    logger.info("terraform destroy: done")


if __name__ == "__main__":
    sys.exit(main())
