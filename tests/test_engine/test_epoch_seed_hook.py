from types import SimpleNamespace

import torch
from mmengine.logging import MMLogger

from qd_plugin.engine import EpochSeedHook


def test_warns_about_persistent_workers(tmp_path):
    log_file = tmp_path / 'run.log'
    MMLogger.get_instance('epoch-seed-test', log_file=str(log_file))
    loader = SimpleNamespace(num_workers=2, persistent_workers=True)
    EpochSeedHook().before_train(SimpleNamespace(train_dataloader=loader))
    assert 'WARNING' in log_file.read_text()
    assert 'persistent_workers=True' in log_file.read_text()


def test_epoch_draws_depend_only_on_seed_epoch_rank():
    loader = SimpleNamespace(worker_init_fn=None)
    draws = []
    for _ in range(2):
        torch.rand(5)  # whatever was drawn before
        EpochSeedHook().before_train_epoch(
            SimpleNamespace(seed=7, epoch=3, train_dataloader=loader))
        draws.append(torch.rand(3))
    torch.testing.assert_close(draws[0], draws[1])
