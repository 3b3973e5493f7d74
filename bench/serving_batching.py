"""Whether TorchServe's server-side batching pays for this model, under the load of
``bench.serving_load``.

    .venv/bin/python -m bench.serving_batching [--seconds 8] [--clients 8 16]

Two measurements of one ResNet50 (224 px, 5 classes, packaged with int8 as in
``bench.serving_load``), in one run:

1. The ceiling. In this process, with one torch thread (a worker under the endpoint's rule):
   the time per image of what a worker does for a request (decode, preprocess, forward) when
   the forward pass takes 1, 2, 4 or 8 images at once, for fp32 and int8. The most any handler
   that batches the forward pass could gain.
2. The stock toolkit under load: the local serving stack with the rule's workers, without
   batching and with TorchServe's (``SAGEMAKER_TS_BATCH_SIZE`` 4 and 8, ``MAX_BATCH_DELAY``
   10 and 50 ms; ``SAGEMAKER_TS_MIN_WORKERS``/``MAX_WORKERS`` set to the same workers, as
   the toolkit then ignores ``SAGEMAKER_MODEL_SERVER_WORKERS``), closed-loop clients sending
   one JPEG each. The toolkit's handler service runs the requests of a batch one after the
   other (sagemaker-inference's ``Transformer.transform``), so batching adds only waiting.

One JSON line per measurement, then a summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.serving_load import closed_loop, model_and_images
from bench.timing import median_seconds
from local_stack.serving.endpoint import LocalEndpoint, ModelServer
from ml import inference
from ml.images import decode_rgb

logger = logging.getLogger("bench.serving_batching")
BATCHES = (1, 2, 4, 8)


@dataclass(frozen=True)
class BatchingServer(ModelServer):
    """The rule's workers with TorchServe's batching, set as the toolkit reads it."""

    batch_size: int = 1
    max_batch_delay_ms: int = 100

    def environment(self) -> dict[str, str]:
        if self.batch_size == 1:
            return super().environment()
        return {
            **super().environment(),
            "SAGEMAKER_TS_BATCH_SIZE": str(self.batch_size),
            "SAGEMAKER_TS_MAX_BATCH_DELAY": str(self.max_batch_delay_ms),
            "SAGEMAKER_TS_MIN_WORKERS": str(self.workers),
            "SAGEMAKER_TS_MAX_WORKERS": str(self.workers),
        }


def per_image_ms(loaded, images: list[bytes], batch: int, rounds: int = 6) -> float:
    """Median over ``rounds`` of (decode + preprocess + one forward pass of ``batch``)/batch."""
    encoded = [inference.input_fn(image, "image/jpeg").images[0] for image in images[:batch]]

    def request() -> None:
        pictures = [decode_rgb(image, loaded.shorter_side) for image in encoded]
        tensor = torch.stack([loaded.transform(picture) for picture in pictures])
        with torch.inference_mode():
            loaded.model(tensor.to(memory_format=torch.channels_last))

    return round(1000 * median_seconds(request, rounds) / batch, 1)


def ceiling(model_dir: Path, images: list[bytes]) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for precision in ("fp32", "int8"):
            os.environ["INFERENCE_PRECISION"] = precision
            loaded = inference.model_fn(str(model_dir))
            times = {batch: per_image_ms(loaded, images, batch) for batch in BATCHES}
            for batch, ms in times.items():
                row = {
                    "measure": "ceiling, 1 thread",
                    "precision": precision,
                    "batch": batch,
                    "ms_per_image": ms,
                    "gain_over_batch_1": round(times[1] / ms, 2),
                }
                logger.info("%s", json.dumps(row))
                rows.append(row)
    finally:
        torch.set_num_threads(threads)
    return rows


def under_load(archive: Path, server: BatchingServer, args) -> list[dict]:
    os.environ["INFERENCE_PRECISION"] = "int8"  # the toolkit's child process inherits it
    rows = []
    with LocalEndpoint(archive, port=0, server=server) as endpoint:
        url = f"{endpoint.toolkit.inference_url}/invocations"
        for clients in args.clients:
            row = {
                "measure": "toolkit under load, int8",
                "workers": server.workers,
                "threads": server.threads,
                "batch_size": server.batch_size,
                "max_batch_delay_ms": server.max_batch_delay_ms if server.batch_size > 1 else 0,
                "clients": clients,
                **closed_loop(url, args.images, clients, args.seconds),
            }
            logger.info("%s", json.dumps(row))
            rows.append(row)
    return rows


def summary(ceiling_rows: list[dict], load_rows: list[dict]) -> dict:
    best = {
        precision: max(r["gain_over_batch_1"] for r in ceiling_rows if r["precision"] == precision)
        for precision in ("fp32", "int8")
    }
    plain = {r["clients"]: r for r in load_rows if r["batch_size"] == 1}
    batched = [r for r in load_rows if r["batch_size"] > 1]
    return {
        "summary": "batching",
        "ceiling_best_gain": best,
        "toolkit_req_per_s_vs_none": {
            f"batch {r['batch_size']}, {r['max_batch_delay_ms']} ms, {r['clients']} clients": round(
                r["req_per_s"] / plain[r["clients"]]["req_per_s"], 2
            )
            for r in batched
        },
        "toolkit_p99_vs_none": {
            f"batch {r['batch_size']}, {r['max_batch_delay_ms']} ms, {r['clients']} clients": round(
                r["p99_ms"] / plain[r["clients"]]["p99_ms"], 2
            )
            for r in batched
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per load")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 16])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cpus = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        archive, args.images = model_and_images(root)
        with tarfile.open(archive) as opened:
            opened.extractall(root / "extracted", filter="data")
        ceiling_rows = ceiling(root / "extracted", args.images)
        rule = ModelServer.for_vcpus(cpus)
        load_rows = []
        for batch_size, delay in ((1, 0), (4, 10), (8, 50)):
            server = BatchingServer(rule.workers, rule.threads, batch_size, delay)
            load_rows += under_load(archive, server, args)
    logger.info("%s", json.dumps(summary(ceiling_rows, load_rows)))


if __name__ == "__main__":
    main()
