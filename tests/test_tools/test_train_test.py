"""tools/train.py and tools/test.py on the command line, as a user runs them."""
import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, dumped_accuracies, tiny_config


def run_tool(*args):
    result = subprocess.run([sys.executable, *map(str, args)],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_train_one_epoch_then_test(tiny_driveact, tmp_path):
    work_dir = tmp_path / 'work'
    cfg = tiny_config('configs/mbv3d_driveact.py', tiny_driveact, str(work_dir))
    config_file = tmp_path / 'mbv3d_tiny.py'
    cfg.dump(str(config_file))

    train = run_tool(REPO_ROOT / 'tools' / 'train.py', config_file,
                     '--work-dir', work_dir)
    # 3 samples in batches of 2: the last batch, of one sample, is dropped.
    assert 'Epoch(train) [1][1/1]' in train.stderr + train.stdout
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()

    run_tool(REPO_ROOT / 'tools' / 'test.py', config_file, checkpoint,
             '--work-dir', work_dir, '--dump', tmp_path / 'preds.pkl')
    metrics = json.loads((work_dir / 'test_metrics.json').read_text())
    assert set(metrics) == {'acc/mean_class_accuracy', 'acc/top1',
                            'acc/top5'}
    # The reported metrics are those of the dumped predictions.
    for key, value in dumped_accuracies(tmp_path / 'preds.pkl').items():
        assert metrics[key] == pytest.approx(value), key
    assert list(work_dir.glob('*/per_class_accuracy.json'))
    assert list(work_dir.glob('*/confusion_matrix.png'))


def test_missing_checkpoint_is_named(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'),
         str(REPO_ROOT / 'configs' / 'mbv3d_driveact.py'),
         str(tmp_path / 'nope.pth')], capture_output=True, text=True)
    assert result.returncode != 0
    assert f'checkpoint not found: {tmp_path / "nope.pth"}' in result.stderr


def test_distillation_checkpoint_tests_without_the_teacher_file(
        tiny_driveact, tmp_path):
    """The tested checkpoint holds the teacher: its source file may be gone."""
    import torch
    from mmrazor.registry import MODELS

    cfg = tiny_config('configs/kd_mbv3d.py', tiny_driveact,
                      str(tmp_path / 'work'))
    cfg.model.teacher_ckpt = None
    cfg.model.architecture.backbone.width_mult = 0.25
    cfg.model.architecture.cls_head.in_channels = 256
    checkpoint = tmp_path / 'kd.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()),
               checkpoint)
    cfg.model.teacher_ckpt = str(tmp_path / 'deleted_teacher.pth')
    config_file = tmp_path / 'kd_tiny.py'
    cfg.dump(str(config_file))
    run_tool(REPO_ROOT / 'tools' / 'test.py', config_file, checkpoint,
             '--work-dir', tmp_path / 'work')
    metrics = json.loads((tmp_path / 'work' / 'test_metrics.json').read_text())
    assert 'acc/mean_class_accuracy' in metrics
