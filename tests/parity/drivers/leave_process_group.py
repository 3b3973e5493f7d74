"""One rank of a two-process gloo group (RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT from
the environment) that all-reduces, then leaves the way ml/train.py run as a script does:
`distributed.cleanup`, then `distributed.exit_process` with the status given. Before leaving it
writes a line it does not flush, and registers an atexit handler that says the interpreter's
teardown ran."""

import atexit
import logging
import sys

import torch
import torch.distributed as dist

from ml import distributed

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
logger = logging.getLogger("leave_process_group")
ctx = distributed.init_distributed("cpu")
total = distributed.all_reduce_sum([float(ctx.rank + 1)], torch.device("cpu"), ctx)
distributed.barrier(ctx)
distributed.cleanup(ctx)
logger.info("rank %d summed %s, group kept: %s", ctx.rank, total[0], dist.is_initialized())
atexit.register(print, "teardown ran", flush=True)
sys.stdout.write("last words, unflushed")
distributed.exit_process(int(sys.argv[1]))
