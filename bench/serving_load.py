"""Throughput and tail latency of the local serving stack under closed-loop load, for fp32 and
int8, at each setting of workers and threads.

    .venv/bin/python -m bench.serving_load [--seconds 8] [--clients 1 4 8 16]

One ResNet50 (224 px, 5 classes; its head trained on cached features of generated images,
random backbone weights standing in for ImageNet's), packaged with int8. Each setting starts
``local_stack.serving.endpoint`` (sagemaker-pytorch-inference + TorchServe, as the endpoint
runs) with the archive, ``INFERENCE_PRECISION`` choosing fp32 or int8; then, for each client
count, that many clients each send one JPEG, wait for the answer and send the next, for
``--seconds`` after a warm-up. The settings: every workers x threads the endpoint module can
deploy on this machine's CPUs (its rule, ``ModelServer.for_vcpus``, and the overrides its
preconditions allow: workers x threads equal to the CPUs), and two it no longer deploys for
comparison: one worker with torch's own threads, and TorchServe's default (one worker per
CPU) with torch's own threads, what the endpoint ran before it set either. One JSON line per
setting and client count, then a summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from local_stack.demo.sample_data import generate
from local_stack.serving.endpoint import LocalEndpoint, ModelServer
from ml.package import Int8Options, build_model_archive

logger = logging.getLogger("bench.serving_load")
REPO_ROOT = Path(__file__).resolve().parent.parent
WARM_UP_S = 2.0


def train_model(root: Path, data: Path) -> Path:
    model_dir = root / "model"
    subprocess.run(
        [
            *(sys.executable, "-m", "ml.train", "--data-dir", str(data)),
            *("--arch", "resnet50", "--no-pretrained", "--freeze-backbone", "--no-augment"),
            *("--feature-cache", str(root / "cache"), "--image-size", "224", "--epochs", "5"),
            *("--workers", "0", "--no-package-int8", "--model-dir", str(model_dir)),
            *("--checkpoint-dir", str(root / "ckpt")),
        ],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    return model_dir


def model_and_images(root: Path) -> tuple[Path, list[bytes]]:
    """The benchmark's archive (fp32 and int8) and the JPEGs the clients send."""
    data = generate(root / "data", classes=5, per_class=20, eval_per_class=20, size=256, seed=0)
    model_dir = train_model(root, data)
    options = Int8Options(data / "valid", data / "test", min_agreement=0.99)
    archive = build_model_archive(model_dir, root / "int8.tar.gz", options)
    return archive, [path.read_bytes() for path in sorted((data / "test").rglob("*.jpg"))]


def settings(cpus: int) -> list[tuple[str, ModelServer]]:
    splits = [workers for workers in range(1, cpus + 1) if cpus % workers == 0]
    deployable = [ModelServer(workers, cpus // workers) for workers in splits]
    named = [("rule" if s == ModelServer.for_vcpus(cpus) else "override", s) for s in deployable]
    return [
        *named,
        ("1 worker, torch's threads", ModelServer(1, None)),
        ("before: TorchServe's and torch's defaults", ModelServer(cpus, None)),
    ]


def closed_loop(url: str, images: list[bytes], clients: int, seconds: float) -> dict:
    """``clients`` threads, each sending the next request when the last is answered."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    measuring = threading.Event()
    done = threading.Event()

    def client(index: int) -> None:
        nonlocal errors
        session = requests.Session()
        sent = index
        while not done.is_set():
            began = time.perf_counter()
            answer = session.post(
                url,
                data=images[sent % len(images)],
                headers={"Content-Type": "image/jpeg"},
                timeout=60,
            )
            took = time.perf_counter() - began
            sent += clients
            if measuring.is_set() and not done.is_set():
                with lock:
                    latencies.append(took)
                    errors += answer.status_code != 200

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(WARM_UP_S)
    measuring.set()
    time.sleep(seconds)
    done.set()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * cuts[94], 1),
        "p99_ms": round(1000 * cuts[98], 1),
        "p99_over_p50": round(cuts[98] / statistics.median(latencies), 2),
        "errors": errors,
    }


def measure(archive: Path, precision: str, name: str, server: ModelServer, args) -> list[dict]:
    os.environ["INFERENCE_PRECISION"] = precision  # the toolkit's child process inherits it
    started = time.perf_counter()
    rows = []
    with LocalEndpoint(archive, port=0, server=server) as endpoint:
        startup = round(time.perf_counter() - started, 1)
        url = f"{endpoint.toolkit.inference_url}/invocations"
        for clients in args.clients:
            row = {
                "precision": precision,
                "setting": name,
                "workers": server.workers,
                "threads": server.threads or "torch's",
                "clients": clients,
                **closed_loop(url, args.images, clients, args.seconds),
                "startup_s": startup,
            }
            logger.info("%s", json.dumps(row))
            rows.append(row)
    return rows


def summary(rows: list[dict], cpus: int) -> dict:
    def at(precision: str, server: ModelServer, clients: int) -> dict:
        threads = server.threads or "torch's"
        return next(
            r
            for r in rows
            if (r["precision"], r["workers"], r["threads"], r["clients"])
            == (precision, server.workers, threads, clients)
        )

    baseline = at("fp32", ModelServer(1, None), 8)
    default = at("int8", ModelServer.for_vcpus(cpus), 8)
    deployable = [r for r in rows if r["setting"] in ("rule", "override") and r["clients"] == 8]
    worst = {
        precision: min(
            r["req_per_s"] / at(precision, ModelServer(1, None), 8)["req_per_s"]
            for r in deployable
            if r["precision"] == precision
        )
        for precision in ("fp32", "int8")
    }
    return {
        "summary": "8 clients",
        "cpus": cpus,
        "default_vs_fp32_one_worker": round(default["req_per_s"] / baseline["req_per_s"], 2),
        "default_p99_over_p50": default["p99_over_p50"],
        "worst_deployable_vs_one_worker": {k: round(v, 2) for k, v in worst.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per load")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8, 16])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cpus = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        archive, args.images = model_and_images(Path(tmp))
        rows = []
        for precision in ("fp32", "int8"):
            for name, server in settings(cpus):
                rows += measure(archive, precision, name, server, args)
    logger.info("%s", json.dumps(summary(rows, cpus)))


if __name__ == "__main__":
    main()
