"""torch.distributed set-up for torchrun launches and SageMaker multi-instance jobs.

Two launchers are understood:
- torchrun (or SageMaker's ``torch_distributed`` launcher, which runs torchrun on every host)
  sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
- a plain SageMaker training job with ``instance_count > 1`` runs this script once per host and
  describes the cluster in ``SM_HOSTS`` / ``SM_CURRENT_HOST``: one process per host, the first
  host is the rendezvous master.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import NoReturn

import torch
import torch.distributed as dist
from torch.torch_version import TorchVersion

logger = logging.getLogger(__name__)

SAGEMAKER_MASTER_PORT = "29500"

# Before torch 2.8 the gloo process group's destructor holds the GIL while it waits for its
# worker threads, and a worker releasing the tensors of the last collective needs the GIL:
# destroying the group, explicitly or in the interpreter's teardown, can deadlock
# (pytorch#154976). One two-process run in four or five hung so on the 2.6 training image.
GLOO_TEARDOWN_CAN_DEADLOCK = TorchVersion(torch.__version__) < (2, 8)


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main_process(self) -> bool:
        return self.rank == 0


def _sagemaker_cluster(env: dict[str, str]) -> tuple[list[str], str] | None:
    hosts = json.loads(env.get("SM_HOSTS", "[]"))
    current = env.get("SM_CURRENT_HOST", "")
    if len(hosts) <= 1:
        return None
    if current not in hosts:
        raise RuntimeError(f"SM_CURRENT_HOST={current!r} is not one of SM_HOSTS={hosts}")
    return sorted(hosts), current


def init_distributed(device_type: str, env: dict[str, str] | None = None) -> DistributedContext:
    """Join the process group when launched as part of a cluster (the one joined already, for a
    second run in the same process); a no-op otherwise."""
    if dist.is_available() and dist.is_initialized():  # kept by `cleanup`
        rank, world_size = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank)
    env = dict(os.environ if env is None else env)
    if "WORLD_SIZE" in env and int(env["WORLD_SIZE"]) > 1:
        rank, world_size = int(env["RANK"]), int(env["WORLD_SIZE"])
        local_rank = int(env.get("LOCAL_RANK", 0))
    elif (cluster := _sagemaker_cluster(env)) is not None:
        hosts, current = cluster
        rank, world_size, local_rank = hosts.index(current), len(hosts), 0
        os.environ.setdefault("MASTER_ADDR", hosts[0])
        os.environ.setdefault("MASTER_PORT", SAGEMAKER_MASTER_PORT)
        os.environ["RANK"], os.environ["WORLD_SIZE"] = str(rank), str(world_size)
    else:
        return DistributedContext()

    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
    logger.info("joined process group: rank %d of %d (%s)", rank, world_size, backend)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank)


def all_reduce_sum(
    values: list[float], device: torch.device, ctx: DistributedContext
) -> list[float]:
    """Sum each value over every process (identity when not distributed)."""
    if not ctx.enabled:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def average_buffers(module: torch.nn.Module, ctx: DistributedContext) -> None:
    """Average floating-point buffers (batch-norm running statistics) over all processes.

    DDP keeps parameters in sync but each process updates its running statistics on its own
    batches; averaging them each epoch gives every rank the same, better-estimated model.
    """
    if not ctx.enabled:
        return
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer.div_(ctx.world_size)
        else:
            dist.broadcast(buffer, src=0)


def barrier(ctx: DistributedContext) -> None:
    if ctx.enabled:
        dist.barrier()


def cleanup(ctx: DistributedContext) -> None:
    """Leave the process group; where that can deadlock, the group stays joined and the
    process must end with `exit_process`."""
    if not (ctx.enabled and dist.is_initialized()):
        return
    if GLOO_TEARDOWN_CAN_DEADLOCK and "gloo" in str(dist.get_backend()):
        logger.info("process group left to the process's exit (torch %s)", torch.__version__)
        return
    dist.destroy_process_group()


def exit_process(status: int | str | None) -> NoReturn:
    """Exit as ``sys.exit(status)`` does. With a process group still joined (see `cleanup`),
    output is flushed and the process ends at once, skipping the interpreter's teardown (atexit
    handlers included): every file the run writes is complete by then (write, then rename)."""
    if dist.is_available() and dist.is_initialized():
        if isinstance(status, str):
            print(status, file=sys.stderr)
            status = 1
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status or 0)
    sys.exit(status)


def all_gather_objects(value, ctx: DistributedContext) -> list:
    """Every process's ``value``, in rank order (just ``[value]`` when not distributed)."""
    if not ctx.enabled:
        return [value]
    gathered = [None] * ctx.world_size
    dist.all_gather_object(gathered, value)
    return gathered
