"""QATMergedValLoop: MMRazor's QATValLoop reporting both evaluations to the
hooks at once.

A toy QAT algorithm trains one epoch with ``CheckpointHook(save_best=
'qat.acc/mean')``, as configs/qat_mbv3d.py does; its fake-quant stand-in
predicts the float architecture's output + 1, so the two evaluations differ.
"""
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmrazor.engine.runner import QATValLoop

from qd_plugin.engine import QATMergedValLoop


class Student(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.square().mean())
        return [dict(pred=o) for o in out]


class Algorithm(BaseModel):
    """What QATValLoop expects of MMArchitectureQuant."""

    def __init__(self):
        super().__init__()
        self.architecture = Student()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        outputs = self.architecture(inputs, data_samples, mode)
        if mode == 'predict':
            return [dict(pred=o['pred'] + 1) for o in outputs]
        return outputs


class MeanPrediction(BaseMetric):
    default_prefix = 'acc'

    def process(self, data_batch, data_samples):
        self.results.extend(float(s['pred']) for s in data_samples)

    def compute_metrics(self, results):
        return dict(mean=sum(results) / len(results))


class RecordHookMetrics(Hook):

    def __init__(self):
        self.calls = []

    def after_val_epoch(self, runner, metrics=None):
        self.calls.append(dict(metrics))


def train(tmp_path, loop):
    torch.manual_seed(0)
    dataset = [dict(inputs=torch.randn(2)) for _ in range(4)]
    loader = dict(
        dataset=dataset,
        batch_size=2,
        collate_fn=dict(type='pseudo_collate'),
        sampler=dict(type='DefaultSampler', shuffle=False))
    recorder = RecordHookMetrics()
    runner = Runner(
        model=Algorithm(),
        work_dir=str(tmp_path),
        # The suite's scope (conftest): a Runner makes its scope current.
        default_scope='mmaction',
        # Its own logger and message hub (the default name, a timestamp, is
        # shared by runners started within one second: the second would
        # inherit the first one's best score).
        experiment_name=f'{loop.__name__}_{tmp_path.name}',
        train_dataloader=loader,
        val_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
        val_cfg=dict(type=loop),
        val_evaluator=dict(type=MeanPrediction),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=1, save_best='qat.acc/mean')),
        custom_hooks=[recorder])
    return runner, recorder


def test_upstream_loop_hides_the_qat_metrics_from_the_second_hook_call(
        tmp_path):
    runner, recorder = train(tmp_path, QATValLoop)
    with pytest.raises(KeyError, match='qat.acc/mean'):
        runner.train()
    assert [sorted(call) for call in recorder.calls] == [['qat.acc/mean'],
                                                         ['original.acc/mean']]


def test_one_hook_call_with_both_evaluations(tmp_path):
    runner, recorder = train(tmp_path, QATMergedValLoop)
    runner.train()
    assert len(recorder.calls) == 1
    metrics = recorder.calls[0]
    assert sorted(metrics) == ['original.acc/mean', 'qat.acc/mean']
    # Each prefix holds its own model's evaluation.
    assert metrics['qat.acc/mean'] == pytest.approx(
        metrics['original.acc/mean'] + 1)
    assert (tmp_path / 'best_qat.acc_mean_epoch_1.pth').is_file()

