"""One rank of a two-process gloo group (under torchrun) that all-reduces, then leaves the way
ml/train.py run as a script does: `distributed.cleanup`, then `distributed.exit_process`."""

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
distributed.exit_process(int(sys.argv[1]))
