"""mmrazor.qat_val_loop_split_metrics: defect in a fresh interpreter that
cannot import qd_plugin, fix with qd_plugin imported.

A toy model trains one epoch with MMRazor's QATValLoop validating it and
``CheckpointHook(save_best='qat.acc/top1')``, as configs/qat_mbv3d.py does.
"""
import json
import subprocess
import sys

import qd_plugin  # noqa: F401  (applies the compat patches)
from qd_plugin.compat import apply_patches
from qd_plugin.compat.mmrazor import QAT_VAL_LOOP_SPLIT_METRICS

# Without qd_plugin, mmrazor.engine only imports with these torch-side
# stand-ins (see the other mmrazor patches).
BLOCK_PLUGIN = '''
import sys
sys.modules['qd_plugin'] = None
import torch.ao.quantization.backend_config.utils
import torch.ao.quantization.fuser_method_mappings as mappings
from torch.ao.quantization.backend_config import BackendPatternConfig
mappings.reverse2, mappings.reverse3 = mappings._reverse2, mappings._reverse3
mappings.reverse_sequential_wrapper2 = (
    lambda seq: mappings._reverse2(mappings._sequential_wrapper2(seq)))
for setter in ('_set_overwrite_output_fake_quantize',
               '_set_overwrite_output_observer', '_set_input_output_observed'):
    setattr(BackendPatternConfig, setter, lambda self, *args: self)
'''

WITH_PLUGIN = 'import qd_plugin\n'

TRAIN_WITH_QAT_VAL_LOOP = '''
import json, os, sys, tempfile
import torch, torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmrazor.engine.runner.quantization_loops import QATValLoop


class Student(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.square().mean())
        return [dict(pred=o) for o in out]


class Algorithm(BaseModel):  # what QATValLoop expects of MMArchitectureQuant
    def __init__(self):
        super().__init__()
        self.architecture = Student()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.architecture(inputs, data_samples, mode)


class Top1(BaseMetric):
    default_prefix = 'acc'

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(top1=1.0)


class RecordHookMetrics(Hook):
    calls = []

    def after_val_epoch(self, runner, metrics=None):
        self.calls.append(sorted(metrics))


dataset = [dict(inputs=torch.randn(2)) for _ in range(4)]
loader = dict(dataset=dataset, batch_size=2,
              collate_fn=dict(type='pseudo_collate'),
              sampler=dict(type='DefaultSampler', shuffle=False))
work_dir = tempfile.mkdtemp()
runner = Runner(
    model=Algorithm(), work_dir=work_dir,
    train_dataloader=loader, val_dataloader=loader,
    train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
    val_cfg=dict(type=QATValLoop), val_evaluator=dict(type=Top1),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
    default_hooks=dict(checkpoint=dict(
        type='CheckpointHook', interval=1, save_best='qat.acc/top1')),
    custom_hooks=[RecordHookMetrics()])
try:
    runner.train()
    error = None
except KeyError as e:
    error = f'KeyError: {e}'
print(json.dumps(dict(
    error=error, hook_metrics=RecordHookMetrics.calls,
    best=sorted(f for f in os.listdir(work_dir) if f.startswith('best')))))
'''


def train_toy(preamble: str) -> dict:
    result = subprocess.run(
        [sys.executable, '-c', preamble + TRAIN_WITH_QAT_VAL_LOOP],
        capture_output=True,
        text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_patch_applied_once_and_idempotent():
    assert QAT_VAL_LOOP_SPLIT_METRICS.applied
    assert not QAT_VAL_LOOP_SPLIT_METRICS.detect()
    assert QAT_VAL_LOOP_SPLIT_METRICS.apply() is False
    assert apply_patches(['mmrazor']) == []


def test_qat_val_loop_split_metrics_defect():
    state = train_toy(BLOCK_PLUGIN)
    # Two hook calls, the second without the 'qat.' metrics ...
    assert state['hook_metrics'] == [['qat.acc/top1'], ['original.acc/top1']]
    # ... so saving the best checkpoint by a 'qat.' metric fails.
    assert state['error'] == "KeyError: 'qat.acc/top1'"


def test_qat_val_loop_split_metrics_fixed():
    state = train_toy(WITH_PLUGIN)
    assert state['error'] is None
    assert state['hook_metrics'] == [['original.acc/top1', 'qat.acc/top1']]
    assert state['best'] == ['best_qat.acc_top1_epoch_1.pth']
