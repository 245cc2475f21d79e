import pytest
from mmengine.runner import Runner

from conftest import tiny_config


def test_nan_loss_stops_training_before_a_checkpoint(tiny_driveact,
                                                     tmp_path):
    """The configs' CheckInvalidLossHook stops at the first NaN loss, naming
    the iteration and the loss terms; no checkpoint of NaN weights."""
    work_dir = tmp_path / 'work'
    cfg = tiny_config('configs/mbv3d_driveact.py', tiny_driveact,
                      str(work_dir))
    cfg.train_cfg.max_epochs = 2
    cfg.default_hooks.checkpoint.interval = 1
    cfg.model.cls_head.loss_cls = dict(
        type='CrossEntropyLoss', loss_weight=float('nan'))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    assert str(error.value) == (
        'non-finite loss at epoch 1, iteration 1/1 (iteration 1 of the run): '
        'loss=nan, loss_cls=nan. Training stopped; no checkpoint of these '
        'weights was saved. Check the learning rate and the loss settings '
        '(e.g. T > 0 for distillation), and the inputs')
    assert not list(work_dir.rglob('*.pth'))
    assert not (work_dir / 'last_checkpoint').exists()
