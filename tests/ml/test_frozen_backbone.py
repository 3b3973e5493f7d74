"""Frozen-backbone training changes only the head: weights and batch-norm statistics of the
backbone stay exactly as they were."""

import argparse

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ml.distributed import DistributedContext
from ml.engine import TrainableModel, train_one_epoch
from ml.model import build_model, freeze_backbone

pytestmark = pytest.mark.unit


def test_only_the_head_learns():
    torch.manual_seed(0)
    model = build_model("resnet18", num_classes=3)
    freeze_backbone(model)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    images, labels = torch.randn(12, 3, 32, 32), torch.arange(12) % 3
    loader = DataLoader(TensorDataset(images, labels), batch_size=4)
    trainable = TrainableModel(
        model, frozen=True, ctx=DistributedContext(), device=torch.device("cpu")
    )
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    metrics = train_one_epoch(
        trainable,
        torch.nn.CrossEntropyLoss(),
        optimizer,
        loader,
        torch.device("cpu"),
        1,
        argparse.Namespace(log_interval=100),
        DistributedContext(),
    )
    assert 0 <= metrics["accuracy"] <= 1
    after = model.state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed == {"fc.weight", "fc.bias"}
    assert model.training
    assert not model.layer1.training
