"""Lambda handler cost: zip size, cold import time, and per-request overhead over a bare
InvokeEndpoint call.

    .venv/bin/python -m bench.lambda_overhead [--baseline GIT_REVISION] [--powertools VERSION]
        [--python PYTHON] [--bytecode] [--repeats N]

The cold import is timed as Lambda starts a container: the zip unpacked into a folder, a new
interpreter importing ``lambda_function`` from it without writing bytecode (the task folder is
read-only, so what the zip ships as source is compiled at every cold start; ``--bytecode``
compiles the folders first, as if the zip shipped ``.pyc`` files for the runtime's Python).
The variants are timed in turn, sample by sample, so a load change on the machine hits them
alike:

- the function as it is;
- with ``--baseline``, the function as it was at that git revision;
- with ``--powertools``, the function as it is plus Powertools for AWS Lambda (Python) as it
  would ship: the release and what it needs that the runtime lacks installed into the unpacked
  zip (a layer unpacks the same files under /opt/python), and what the function would run at
  import with it (``POWERTOOLS_IMPORTS``), before the function itself.

``--python`` times the imports on another interpreter (the Lambda runtime's Python 3.12 of the
``lambda-python3.12`` parity environment, say).

Both the handler and the bare boto3 call hit the same loopback stub endpoint that answers
at once, so the difference is the handler's own work (validation, base64, JSON, logging).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3

from local_stack.serving.lambda_runtime import import_handler
from local_stack.serving.stub_endpoint import StubEndpoint

REPO_ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("bench.lambda_overhead")
PREDICTIONS = {"predictions": [{"breed": "Akita", "index": 3, "probability": 0.9}] * 5}
# What the function would run at import with Powertools: its Logger (in place of our JSON log
# formatter), Metrics, and the event classes of the three HTTP event sources it accepts (in
# place of our unwrapping). Importing any of them runs the package's __init__, which imports
# Logger, Metrics and Tracer, and the data classes' __init__, which imports every event class.
POWERTOOLS_IMPORTS = (
    "from aws_lambda_powertools import Logger, Metrics; "
    "from aws_lambda_powertools.utilities.data_classes import "
    "APIGatewayProxyEvent, APIGatewayProxyEventV2, LambdaFunctionUrlEvent; "
    "Logger(service='invoker'); Metrics(namespace='bench', service='invoker')"
)
# What Powertools requires that the python3.12 runtime does not provide (it has jmespath).
POWERTOOLS_NEEDS = ("typing-extensions==4.16.0",)


def unpack(zip_path: Path, folder: Path) -> Path:
    """The zip unpacked, as Lambda unpacks a function's code into /var/task."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    return folder


def add_powertools(folder: Path, version: str, python: str) -> Path:
    """The Powertools release and what it needs, installed into ``folder`` from wheels."""
    packages = [f"aws-lambda-powertools=={version}", *POWERTOOLS_NEEDS]
    # --no-compile: the zip ships sources, as scripts/build_lambda_zip.py builds it.
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile"]
    pip += ["--only-binary=:all:", "--target", str(folder), *packages]
    subprocess.run(pip, check=True, capture_output=True)
    for metadata in folder.glob("*.dist-info"):
        shutil.rmtree(metadata)
    return folder


def folder_zip_bytes(folder: Path, zip_path: Path) -> int:
    """The size of ``folder`` zipped as the function's zip is (deflated)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return zip_path.stat().st_size


def cold_import_ms(
    variants: dict[str, tuple[Path, str]], python: str, repeats: int = 11, bytecode: bool = False
) -> dict[str, float]:
    """Median cold import, in ms, of each variant (its unpacked folder, what runs first): the
    wall time, and the process's CPU time (``*_cpu``), which the other work of a shared
    machine disturbs less. Each round times the variants in a new order."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "ENDPOINT_NAME": "bench"}
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); "
        "t, c = time.perf_counter(), time.process_time(); exec(sys.argv[2]); "
        "import lambda_function; print(time.perf_counter() - t, time.process_time() - c)"
    )
    if bytecode:
        for folder, _ in variants.values():
            subprocess.run([python, "-m", "compileall", "-q", str(folder)], check=True)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    order = random.Random(0)
    for _ in range(repeats):
        for name in order.sample(list(variants), len(variants)):
            folder, prelude = variants[name]
            answer = subprocess.run(
                [python, "-B", "-c", script, str(folder), prelude],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            wall, cpu = answer.stdout.split()
            samples[name].append((float(wall), float(cpu)))
    medians = {}
    for name, times in samples.items():
        medians[name] = round(1000 * statistics.median(wall for wall, _ in times), 1)
        medians[f"{name}_cpu"] = round(1000 * statistics.median(cpu for _, cpu in times), 1)
    return medians


def build_zip(source_dir: Path, zip_path: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "build_lambda_zip.py"),
            str(source_dir),
            str(zip_path),
        ],
        check=True,
        capture_output=True,
    )
    return zip_path


def checkout_lambda(revision: str, folder: Path) -> Path:
    """lambda/ as it was at ``revision`` (its Python modules, packages included), written into
    ``folder``."""
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision, "--", "lambda/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    folder.mkdir(parents=True)
    for name in (n for n in names if n.endswith(".py")):
        source = subprocess.run(
            ["git", "show", f"{revision}:{name}"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        ).stdout
        target = folder / Path(name).relative_to("lambda")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source)
    return folder


def measure_imports(args: argparse.Namespace, tmp: Path) -> dict:
    """Zip sizes and cold imports of the variants the arguments ask for."""
    zip_path = build_zip(REPO_ROOT / "lambda", tmp / "lambda.zip")
    results: dict = {"zip_bytes": zip_path.stat().st_size}
    variants = {"cold_import_ms": (unpack(zip_path, tmp / "today"), "")}
    if args.baseline:
        old = checkout_lambda(args.baseline, tmp / "baseline-source")
        old_zip = build_zip(old, tmp / "baseline.zip")
        variants[f"cold_import_ms_at_{args.baseline}"] = (unpack(old_zip, tmp / "baseline"), "")
    if args.powertools:
        folder = add_powertools(unpack(zip_path, tmp / "powertools"), args.powertools, args.python)
        results["zip_bytes_with_powertools"] = folder_zip_bytes(folder, tmp / "powertools.zip")
        variants["cold_import_ms_with_powertools"] = (folder, POWERTOOLS_IMPORTS)
    results.update(cold_import_ms(variants, args.python, args.repeats, args.bytecode))
    if args.powertools:
        for suffix in ("", "_cpu"):
            results[f"powertools_extra_ms{suffix}"] = round(
                results[f"cold_import_ms_with_powertools{suffix}"]
                - results[f"cold_import_ms{suffix}"],
                1,
            )
    return results


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (500, 375), (120, 80, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision whose cold import to measure too")
    parser.add_argument("--powertools", help="Powertools release to measure the function with")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the imports")
    parser.add_argument("--bytecode", action="store_true", help="compile the folders first")
    parser.add_argument("--repeats", type=int, default=11, help="cold imports per variant")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        results = measure_imports(args, Path(tmp))

    stub = StubEndpoint()
    stub.answer(200, "", PREDICTIONS)
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "ENDPOINT_NAME": "bench",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": stub.url,
            "LOG_LEVEL": "WARNING",
        }
    )
    lambda_function = import_handler()

    image = jpeg_bytes()
    event = {"image": base64.b64encode(image).decode(), "top_k": 5}
    context = SimpleNamespace(aws_request_id="bench")
    runtime = boto3.client("sagemaker-runtime", endpoint_url=stub.url)
    body = json.dumps({"image": event["image"], "top_k": 5}).encode()

    def timed(call, repeats=200) -> float:
        call()
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
        return 1000 * statistics.median(samples)

    bare = timed(
        lambda: runtime.invoke_endpoint(
            EndpointName="bench", Body=body, ContentType="application/json"
        )["Body"].read()
    )
    handled = timed(lambda: lambda_function.lambda_handler(event, context))
    stub.close()
    results.update(
        {
            "image_bytes": len(image),
            "bare_invoke_p50_ms": round(bare, 2),
            "handler_p50_ms": round(handled, 2),
            "handler_overhead_ms": round(handled - bare, 2),
        }
    )
    logger.info("%s", json.dumps(results))


if __name__ == "__main__":
    main()
