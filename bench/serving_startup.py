"""Where the serving stack's start-up goes, for an fp32 and an int8 archive.

    .venv/bin/python -m bench.serving_startup [--rounds 2]

One ResNet50 with 133 classes (random weights: loading costs the same), packaged fp32 and
with an int8 copy (quantized on random calibration images: no agreement check, the weights
do not matter here). For each archive: its size, the extraction (SageMaker does it on AWS
after downloading the archive, which grows with the size too), then the local serving stack
(sagemaker-pytorch-inference + TorchServe, the rule's workers) from its start to TorchServe
answering, and to every worker READY. In this process: importing the handler's package, and
``model_fn`` for each precision against loading the fp32 weights into a randomly initialised
model (what it did before it built the model on the meta device). One JSON line each.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import torch
from torch.utils.data import DataLoader, TensorDataset

from bench.timing import median_seconds
from local_stack.serving.endpoint import ModelServer, ToolkitServer
from ml import inference
from ml.artifacts import INT8_WEIGHTS_FILE, WEIGHTS_FILE, write_model_artifacts
from ml.files import write_tar_gz
from ml.model import build_model
from ml.package import archive_members
from ml.quantize import quantize

logger = logging.getLogger("bench.serving_startup")
REPO_ROOT = Path(__file__).resolve().parent.parent


def model_dirs(root: Path) -> dict[str, Path]:
    """An fp32 model dir and one with an int8 copy beside it."""
    torch.manual_seed(0)
    model = build_model("resnet50", 133, pretrained=False).eval()
    config = {"arch": "resnet50", "image_size": 224, "num_classes": 133}
    names = [f"breed {index}" for index in range(133)]
    dirs = {"fp32": root / "fp32", "int8": root / "int8"}
    for folder in dirs.values():
        write_model_artifacts(folder, model, config, names, [], {})
    calibration = DataLoader(TensorDataset(torch.randn(8, 3, 224, 224), torch.zeros(8)), 4)
    buffer = io.BytesIO()
    torch.save(quantize(model, calibration, 224).state_dict(), buffer)
    (dirs["int8"] / INT8_WEIGHTS_FILE).write_bytes(buffer.getvalue())
    return dirs


def serve(archive: Path, workdir: Path, server: ModelServer) -> dict:
    toolkit = ToolkitServer(archive, workdir, server)
    began = time.perf_counter()
    toolkit._extract(workdir / "opt_ml" / "model")
    extracted = time.perf_counter()
    toolkit._extract = lambda _model_dir: None  # done: start() extracts otherwise
    answering = None

    def watch() -> None:
        nonlocal answering
        while answering is None:
            try:
                requests.get(f"{toolkit.management_url}/models", timeout=1)
                answering = time.perf_counter()
            except requests.RequestException:
                time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        toolkit.start()
        ready = time.perf_counter()
    finally:
        toolkit.stop()
    return {
        "extract_s": round(extracted - began, 2),
        "to_torchserve_answering_s": round((answering or ready) - extracted, 2),
        "to_all_workers_ready_s": round(ready - extracted, 2),
    }


def median_s(action, rounds: int) -> float:
    """Each round a first load (a fresh interpreter, a model not loaded before): no warm-up."""
    return round(median_seconds(action, rounds, warm_ups=0), 2)


def in_process(dirs: dict[str, Path], rounds: int) -> dict:
    def import_handler() -> None:
        subprocess.run(
            [sys.executable, "-c", "import ml.inference"],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            check=True,
        )

    def random_init_fp32() -> None:
        model = build_model("resnet50", 133, pretrained=False)
        model.load_state_dict(torch.load(dirs["fp32"] / WEIGHTS_FILE, weights_only=True))

    def model_fn(precision: str):
        def load() -> None:
            os.environ["INFERENCE_PRECISION"] = precision
            inference.model_fn(str(dirs[precision]))

        return load

    return {
        "import_handler_package_s": median_s(import_handler, rounds),
        "model_fn_fp32_s": median_s(model_fn("fp32"), rounds),
        "fp32_load_with_random_init_s": median_s(random_init_fp32, rounds),
        "model_fn_int8_s": median_s(model_fn("int8"), rounds),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="start-ups per archive")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = ModelServer.for_vcpus(len(os.sched_getaffinity(0)))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dirs = model_dirs(root / "models")
        for precision, folder in dirs.items():
            archive = write_tar_gz(archive_members(folder), root / f"{precision}.tar.gz")
            for round_ in range(args.rounds):
                os.environ["INFERENCE_PRECISION"] = precision
                row = {
                    "archive": precision,
                    "archive_mb": round(archive.stat().st_size / 1e6, 1),
                    "workers": server.workers,
                    **serve(archive, root / f"serve-{precision}-{round_}", server),
                }
                logger.info("%s", json.dumps(row))
        logger.info("%s", json.dumps({"in_process": in_process(dirs, args.rounds)}))


if __name__ == "__main__":
    main()
