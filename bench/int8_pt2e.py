"""The int8 model as torch.ao's FX flow builds it (what ships) against the PT2E flow torch
points to, on the inference container's torch.

    .venv-parity/pytorch-2.6-py312/bin/python -m bench.int8_pt2e   # the container's torch
    .venv/bin/python -m bench.int8_pt2e                             # this checkout's

One ResNet50 with 133 classes at 224 px (random weights: the speed does not depend on them),
calibrated on the same 8 random images both ways. For fp32, FX int8 and PT2E int8 (X86
InductorQuantizer, ``prepare_pt2e``/``convert_pt2e``), run as converted and, for PT2E, through
``torch.compile`` (inductor with freezing, which lowers the quantize/dequantize pairs to int8
kernels; compiled cold, in an empty inductor cache, as a fresh worker would): the median time
of a one-image forward pass over 10 runs with 1 and 2 torch threads, the time to build or
compile, and for PT2E the size and load time of the ``torch.export``-saved program (what an
archive would carry in place of the FX state dict). One JSON line per flow. A torch whose
torch.ao no longer has the PT2E quantizers (they moved to torchao) gets a line saying so.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import torch

from bench.timing import median_seconds
from ml.model import build_model
from ml.quantize import BACKEND, _prepare

logger = logging.getLogger("bench.int8_pt2e")


def forward_ms(model, example: torch.Tensor) -> dict[str, float]:
    times = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            seconds = median_seconds(lambda: model(example), 10)
        times[f"ms_{threads}_thread"] = round(1000 * seconds, 1)
    return times


def fx_int8(model, calibration):
    from torch.ao.quantization.quantize_fx import convert_fx

    prepared = _prepare(model, 224)
    with torch.inference_mode():
        for images in calibration:
            prepared(images)
    return convert_fx(prepared)


def pt2e_int8(model, calibration, example):
    import torch.ao.quantization.quantizer.x86_inductor_quantizer as xiq
    from torch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e

    exported = torch.export.export_for_training(model, (example,)).module()
    quantizer = xiq.X86InductorQuantizer().set_global(
        xiq.get_default_x86_inductor_quantization_config()
    )
    prepared = prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for images in calibration:
            prepared(images)
    converted = convert_pt2e(prepared)
    torch.ao.quantization.move_exported_model_to_eval(converted)
    return converted


def timed(build):
    began = time.perf_counter()
    built = build()
    return built, round(time.perf_counter() - began, 2)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cache = tempfile.TemporaryDirectory()
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache.name  # a cold compile, as a new host's
    torch.manual_seed(0)
    torch.backends.quantized.engine = BACKEND
    model = build_model("resnet50", 133, pretrained=False).eval()
    calibration = [torch.randn(4, 3, 224, 224) for _ in range(2)]
    example = torch.randn(1, 3, 224, 224)
    base = {"torch": torch.__version__}
    logger.info("%s", json.dumps({**base, "flow": "fp32", **forward_ms(model, example)}))

    fx, fx_build_s = timed(lambda: fx_int8(model, calibration))
    state = io.BytesIO()
    torch.save(fx.state_dict(), state)
    row = {**base, "flow": "FX int8 (ships)", "build_s": fx_build_s}
    row["state_mb"] = round(len(state.getvalue()) / 1e6, 1)
    logger.info("%s", json.dumps({**row, **forward_ms(fx, example)}))

    try:
        pt2e, pt2e_build_s = timed(lambda: pt2e_int8(model, calibration, example))
    except ModuleNotFoundError as error:
        logger.info("%s", json.dumps({**base, "flow": "PT2E int8", "skipped": str(error)}))
        return
    row = {**base, "flow": "PT2E int8, as converted", "build_s": pt2e_build_s}
    logger.info("%s", json.dumps({**row, **forward_ms(pt2e, example)}))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_int8.pt2"
        torch.export.save(torch.export.export(pt2e, (example,)), path)
        _, load_s = timed(lambda: torch.export.load(path).module())
        saved = {"pt2_mb": round(path.stat().st_size / 1e6, 1), "pt2_load_s": load_s}

    # Freezing folds the weights into constants, which lets inductor match the quantized
    # patterns to its int8 kernels (the PT2E x86 tutorial sets it).
    torch._inductor.config.freezing = True
    with torch.no_grad():
        compiled = torch.compile(pt2e)
        _, compile_s = timed(lambda: compiled(example))
        row = {**base, "flow": "PT2E int8, torch.compile", "compile_s": compile_s, **saved}
        logger.info("%s", json.dumps({**row, **forward_ms(compiled, example)}))


if __name__ == "__main__":
    main()
