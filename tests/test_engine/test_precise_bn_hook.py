from types import SimpleNamespace

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from qd_plugin.engine import PreciseBNHook


class BNModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(3)
        self.frozen = nn.BatchNorm1d(3).eval()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.frozen(self.bn(inputs))


def batches(num, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(4, 3, generator=generator) * 3 + 5)
            for _ in range(num)]


def test_statistics_become_the_average_over_training_batches():
    model = BNModel().train()
    model.frozen.eval()
    data = batches(5)
    runner = SimpleNamespace(model=model, train_dataloader=data)
    PreciseBNHook(num_batches=3).before_val_epoch(runner)
    used = torch.cat([d['inputs'] for d in data[:3]])
    torch.testing.assert_close(model.bn.running_mean, used.mean(0))
    unbiased = torch.stack([d['inputs'].var(0) for d in data[:3]]).mean(0)
    torch.testing.assert_close(model.bn.running_var, unbiased)
    assert model.bn.momentum == 0.1
    # A frozen (eval-mode) BN keeps its statistics.
    torch.testing.assert_close(model.frozen.running_mean, torch.zeros(3))
    torch.testing.assert_close(model.frozen.running_var, torch.ones(3))


def test_eval_output_then_matches_train_mode_normalization():
    model = BNModel().train()
    model.frozen.eval()
    data = batches(1, seed=1)
    runner = SimpleNamespace(model=model, train_dataloader=data)
    PreciseBNHook(num_batches=1).before_val_epoch(runner)
    with torch.no_grad():
        train_out = model.bn(data[0]['inputs'])
        model.eval()
        eval_out = model.bn(data[0]['inputs'])
    # Same batch: only the biased/unbiased variance differs (n = 4).
    torch.testing.assert_close(eval_out, train_out * (3 / 4)**0.5,
                               atol=1e-4, rtol=1e-4)
