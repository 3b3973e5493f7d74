"""Lambda handler cost: zip size, cold import time, and per-request overhead over a bare
InvokeEndpoint call.

    .venv/bin/python -m bench.lambda_overhead [--baseline GIT_REVISION]

With ``--baseline``, the cold import of the function as it was at that revision is measured
in the same run, for a before/after comparison.

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import boto3

from local_stack.serving.lambda_runtime import import_handler
from local_stack.serving.stub_endpoint import StubEndpoint

REPO_ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("bench.lambda_overhead")
PREDICTIONS = {"predictions": [{"breed": "Akita", "index": 3, "probability": 0.9}] * 5}


def cold_import_ms(zip_path: Path, repeats: int = 5) -> float:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "ENDPOINT_NAME": "bench"}
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
        "import lambda_function; print(time.perf_counter() - t)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", script, str(zip_path)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(repeats)
    ]
    return round(1000 * statistics.median(samples), 1)


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
    """lambda/ as it was at ``revision`` (its Python modules), written into ``folder``."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{revision}:lambda"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    folder.mkdir(parents=True)
    for name in (n for n in names if n.endswith(".py")):
        source = subprocess.run(
            ["git", "show", f"{revision}:lambda/{name}"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        ).stdout
        (folder / name).write_bytes(source)
    return folder


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (500, 375), (120, 80, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision whose cold import to measure too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = build_zip(REPO_ROOT / "lambda", Path(tmp) / "lambda.zip")
        results = {"zip_bytes": zip_path.stat().st_size, "cold_import_ms": cold_import_ms(zip_path)}
        if args.baseline:
            old = checkout_lambda(args.baseline, Path(tmp) / "baseline")
            old_zip = build_zip(old, Path(tmp) / "baseline.zip")
            results[f"cold_import_ms_at_{args.baseline}"] = cold_import_ms(old_zip)

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
