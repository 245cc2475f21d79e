"""Resuming KD+QAT training, and determinism of identical runs.

Three runs of a tiny configs/kd_qat_mbv3d.py (2 epochs; observers and BN
frozen from epoch 2) through ``tools/train.py``'s ``main``: uninterrupted;
stopped right after epoch 1 was saved; that one continued with ``--resume``.
"""
import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Dict
from unittest import mock

import pytest
import torch
from reliability_hooks import SimulatedInterruption
from reliability_utils import (make_textured_driveact, save_tiny_checkpoints,
                               tiny_kd_qat_cfg)

from conftest import REPO_ROOT
from qd_plugin.engine.hooks import EpochSeedHook, epoch_seed
from qd_plugin.utils import load_config

OBSERVER_STATE = ('min_val', 'max_val', 'scale', 'zero_point')


def load_train_tool():
    spec = importlib.util.spec_from_file_location(
        'qd_train_tool', REPO_ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> Dict[str, Path]:
    root = tmp_path_factory.mktemp('resume')
    data = make_textured_driveact(root / 'data')
    teacher, student = save_tiny_checkpoints(root)
    cfg = tiny_kd_qat_cfg(data, str(root / 'unused'), teacher, student, 2)
    # One worker, as the configs have (non-persistent): its random state
    # must follow the epoch too.
    cfg.train_dataloader.num_workers = 1
    cfg.custom_hooks.append(dict(type='ReliabilitySampleOrderHook'))
    config = root / 'kd_qat_tiny.py'
    cfg.dump(str(config))
    interrupted = copy.deepcopy(cfg)
    interrupted.custom_hooks.append(
        dict(type='ReliabilityInterruptHook', epoch=1))
    interrupted_config = root / 'kd_qat_tiny_interrupted.py'
    interrupted.dump(str(interrupted_config))

    train = load_train_tool()

    def run(config: Path, work_dir: Path, *args: str) -> None:
        argv = ['train.py', str(config), '--work-dir', str(work_dir), *args]
        with mock.patch.object(sys, 'argv', argv):
            train.main()

    dirs = dict(uninterrupted=root / 'uninterrupted', resumed=root / 'resumed')
    run(config, dirs['uninterrupted'])
    with pytest.raises(SimulatedInterruption):
        run(interrupted_config, dirs['resumed'])
    assert not (dirs['resumed'] / 'epoch_2.pth').exists()
    dirs['interrupted_epoch_1'] = root / 'interrupted_epoch_1.pth'
    dirs['interrupted_epoch_1'].write_bytes(
        (dirs['resumed'] / 'epoch_1.pth').read_bytes())
    run(config, dirs['resumed'], '--resume')
    return dirs


def load(path: Path) -> Dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_state(first: Dict, second: Dict) -> None:
    """Same weights, observers, fake-quants, BN statistics, optimizer and
    scheduler state, epoch and iteration."""
    assert list(first['state_dict']) == list(second['state_dict'])
    different = [
        key for key, value in first['state_dict'].items()
        if not torch.equal(value, second['state_dict'][key])
    ]
    assert different == []
    first_opt, second_opt = first['optimizer'], second['optimizer']
    assert first_opt['param_groups'] == second_opt['param_groups']
    assert first_opt['state'].keys() == second_opt['state'].keys()
    for index, state in first_opt['state'].items():
        assert torch.equal(state['momentum_buffer'],
                           second_opt['state'][index]['momentum_buffer'])
    assert first['param_schedulers'] == second['param_schedulers']
    for key in ('epoch', 'iter', 'seed'):
        assert first['meta'][key] == second['meta'][key], key


def observer_state(state_dict: Dict) -> Dict[str, torch.Tensor]:
    return {
        key: value
        for key, value in state_dict.items()
        if key.startswith('qmodels.loss.')
        and key.rsplit('.', 1)[-1] in OBSERVER_STATE
    }


def last_val_metrics(work_dir: Path) -> Dict:
    records = [
        json.loads(line)
        for scalars in sorted(work_dir.glob('*/vis_data/scalars.json'))
        for line in scalars.read_text().splitlines()
    ]
    val = [r for r in records if 'qat.acc/mean_class_accuracy' in r]
    return {k: v for k, v in val[-1].items() if k.startswith(('qat.',
                                                              'original.'))}


def test_resumed_run_ends_like_the_uninterrupted_one(runs):
    uninterrupted = load(runs['uninterrupted'] / 'epoch_2.pth')
    resumed = load(runs['resumed'] / 'epoch_2.pth')
    assert resumed['meta']['epoch'] == 2
    assert_same_state(uninterrupted, resumed)
    assert last_val_metrics(runs['uninterrupted']) == \
        last_val_metrics(runs['resumed'])

    # Not vacuous: finite, trained in epoch 2, observers have statistics.
    epoch_1 = load(runs['interrupted_epoch_1'])
    for key, value in resumed['state_dict'].items():
        assert value.is_floating_point() is False or \
            torch.isfinite(value).all(), key
    weight = 'architecture.backbone.stem.conv.weight'
    assert not torch.equal(epoch_1['state_dict'][weight],
                           resumed['state_dict'][weight])
    observers = observer_state(resumed['state_dict'])
    assert len(observers) > 100
    scales = [v for k, v in observers.items() if k.endswith('.scale')]
    assert all((s != 1).all() for s in scales)
    # Epoch 2 ran with the observers frozen (disable_observer_begin=2),
    # also after resuming, and BN statistics frozen (freeze_bn_begin=2).
    assert observer_state(epoch_1['state_dict']).keys() == observers.keys()
    for key, value in observer_state(epoch_1['state_dict']).items():
        assert torch.equal(value, observers[key]), key
    running = 'architecture.backbone.stem.bn.running_mean'
    assert torch.equal(epoch_1['state_dict'][running],
                       resumed['state_dict'][running])


def test_resumed_run_continued_from_epoch_1(runs):
    # The resumed run kept the saved epoch 1 and logged where it resumed.
    assert (runs['resumed'] / 'epoch_1.pth').read_bytes() == \
        runs['interrupted_epoch_1'].read_bytes()
    logs = sorted(runs['resumed'].glob('*/*.log'))
    assert len(logs) == 2
    assert 'resumed epoch: 1, iter: 2' in logs[1].read_text()
    assert 'Epoch(train) [1]' not in logs[1].read_text()


def test_identical_runs_give_identical_weights(runs):
    """The uninterrupted and the interrupted run up to epoch 1."""
    assert_same_state(
        load(runs['uninterrupted'] / 'epoch_1.pth'),
        load(runs['interrupted_epoch_1']))


def test_class_balanced_sample_order_is_reproducible(runs):
    def orders(work_dir):
        lines = (work_dir / 'sample_order.jsonl').read_text().splitlines()
        return [json.loads(line) for line in lines]

    uninterrupted = orders(runs['uninterrupted'])
    assert [r['epoch'] for r in uninterrupted] == [0, 1]
    # Epoch 1 from the interrupted run, epoch 2 from the resumed one.
    assert orders(runs['resumed']) == uninterrupted
    assert uninterrupted[0]['indices'] != uninterrupted[1]['indices']


def test_sampler_seed_is_the_configured_seed(tmp_path):
    from mmengine.runner import Runner
    data = make_textured_driveact(tmp_path)
    cfg = tiny_kd_qat_cfg(data, str(tmp_path / 'work'), None, None, 1)
    assert cfg.randomness.seed == 0

    def order(seed):
        loader = Runner.build_dataloader(
            copy.deepcopy(cfg.train_dataloader), seed=seed)
        # The batch sampler (NoSingletonBatchSampler) draws from it.
        sampler = loader.batch_sampler.sampler
        assert type(sampler).__name__ == 'ClassBalancedSampler'
        assert sampler.seed == seed
        drawn = []
        for epoch in range(3):
            sampler.set_epoch(epoch)
            drawn.append(list(sampler))
        return drawn

    assert order(0) == order(0)
    assert order(0) != order(1)


def test_every_config_reseeds_each_epoch():
    for name in ('mbv3d_driveact', 'i3d_driveact', 'kd_mbv3d', 'qat_mbv3d',
                 'kd_qat_mbv3d'):
        cfg = load_config(str(REPO_ROOT / 'configs' / f'{name}.py'))
        assert dict(type='EpochSeedHook') in cfg.custom_hooks, name
        assert cfg.train_dataloader.persistent_workers is False, name


class FakeRunner:

    def __init__(self, seed, epoch, loader):
        self.seed, self.epoch, self.train_dataloader = seed, epoch, loader


def test_epoch_seed_hook_seeds_from_seed_epoch_and_rank():
    from functools import partial

    from mmengine.dataset import worker_init_fn
    from torch.utils.data import DataLoader
    assert epoch_seed(0, 1, 0) == epoch_seed(0, 1, 0)
    assert len({epoch_seed(0, 1, 0), epoch_seed(0, 2, 0),
                epoch_seed(0, 1, 1), epoch_seed(1, 1, 0)}) == 4

    loader = DataLoader(
        list(range(4)),
        num_workers=1,
        worker_init_fn=partial(
            worker_init_fn, num_workers=1, rank=0, seed=0))
    hook = EpochSeedHook()
    draws = []
    for _ in range(2):
        torch.manual_seed(123)  # whatever the state before the epoch
        hook.before_train_epoch(FakeRunner(7, 3, loader))
        draws.append(torch.rand(2))
    assert torch.equal(draws[0], draws[1])
    torch.manual_seed(epoch_seed(7, 3, 0))
    assert torch.equal(draws[0], torch.rand(2))
    # MMEngine's worker seeds follow the epoch too (it gives them the same
    # seeds every epoch).
    assert loader.worker_init_fn.func is worker_init_fn
    assert loader.worker_init_fn.keywords == dict(
        num_workers=1, rank=0, seed=epoch_seed(7, 3, 0))
