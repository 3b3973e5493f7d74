"""Run ml.train under torchrun and record what each rank did, for the DDP test.

Instrumentation only: the training code runs unchanged. Each rank gets its own model,
checkpoint and feature cache dirs (so the test can see which rank wrote, and no rank can read
what another wrote, as on separate hosts), and writes down the training indices its
DistributedSampler produced and its final weights.
"""

import json
import os
import sys
from pathlib import Path

import torch
from torch.utils.data import DistributedSampler

from ml import train

record_dir = Path(os.environ["DDP_PROBE_DIR"])
rank = int(os.environ["RANK"])
seen: list[dict] = []
sampler_iter = DistributedSampler.__iter__


def recording_iter(self):
    indices = list(sampler_iter(self))
    seen.append({"epoch": self.epoch, "indices": indices})
    return iter(indices)


DistributedSampler.__iter__ = recording_iter
args = train.parse_args(sys.argv[1:])
args.model_dir = args.model_dir / f"rank{rank}"
args.checkpoint_dir = args.checkpoint_dir / f"rank{rank}"
if args.feature_cache is not None:  # as on hosts with disks of their own
    args.feature_cache = args.feature_cache / f"rank{rank}"
train.configure_logging()
model = train.main(args)
torch.save(model.state_dict(), record_dir / f"weights_rank{rank}.pt")
(record_dir / f"indices_rank{rank}.json").write_text(json.dumps(seen))
