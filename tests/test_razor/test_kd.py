"""Knowledge distillation (configs/kd_mbv3d.py) and its teacher configs."""
import copy
import importlib.util
import json
import os.path as osp
import sys

import mmrazor.engine  # noqa: F401  (registers the distill val loop)
import mmrazor.models  # noqa: F401  (registers the algorithms and losses)
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmrazor.registry import MODELS as MMRAZOR_MODELS
from torch.nn.modules.batchnorm import _BatchNorm

# conftest imported qd_plugin (its compat makes mmrazor importable).
from conftest import REPO_ROOT, accuracies, shrink_pipeline

KD_CONFIG = 'configs/kd_mbv3d.py'
NUM_CLASSES = 34


def load_config(name: str) -> Config:
    return Config.fromfile(str(REPO_ROOT / name))


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(
        name, REPO_ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_kd_model_cfg() -> Config:
    """The KD model of the config with a 0.25x student and no checkpoint."""
    model = copy.deepcopy(load_config(KD_CONFIG).model)
    model.architecture.backbone.width_mult = 0.25
    model.architecture.cls_head.in_channels = 256
    model.teacher_ckpt = None
    return model


def batch(num: int = 2, clip_len: int = 4, size: int = 32) -> dict:
    """A data batch as the dataloader collates it (uint8 NCTHW clips)."""
    inputs = [
        torch.randint(0, 256, (1, 3, clip_len, size, size), dtype=torch.uint8)
        for _ in range(num)
    ]
    samples = [ActionDataSample().set_gt_labels(i % 3) for i in range(num)]
    return dict(inputs=inputs, data_samples=samples)


def bn_stats(module: torch.nn.Module) -> dict:
    return {
        name: m.running_mean.clone()
        for name, m in module.named_modules() if isinstance(m, _BatchNorm)
    }


def test_kd_config_settings():
    cfg = load_config(KD_CONFIG)
    assert (cfg.T, cfg.beta) == (3.0, 0.9)
    assert cfg.model.teacher_trainable is False
    assert cfg.model.teacher_norm_eval is True
    # The student is the model of the float config, bar its CE weight.
    student = copy.deepcopy(cfg.model.architecture)
    assert student.pop('_scope_') == 'mmaction'
    assert student.cls_head.pop('loss_cls') == dict(
        type='CrossEntropyLoss', loss_weight=pytest.approx(0.1))
    assert student == load_config('configs/mbv3d_driveact.py').model
    # The teacher is the model of the teacher config, bar its dropout.
    teacher = copy.deepcopy(cfg.model.teacher)
    assert teacher.pop('_scope_') == 'mmaction'
    assert teacher.cls_head.dropout_ratio == 0
    expected = load_config('configs/i3d_driveact.py').model
    expected.cls_head.dropout_ratio = 0.
    assert teacher == expected


def test_distill_loss_on_fixed_logits():
    cfg = load_config(KD_CONFIG)
    T, beta = cfg.T, cfg.beta
    torch.manual_seed(0)
    algorithm = MMRAZOR_MODELS.build(tiny_kd_model_cfg())
    algorithm.train()
    logits_s = torch.randn(2, NUM_CLASSES) * 3
    logits_t = torch.randn(2, NUM_CLASSES) * 3
    labels = torch.tensor([4, 17])
    # Replace the heads' logits before the recorders see them.
    algorithm.student.cls_head.fc_cls.register_forward_hook(
        lambda *_: logits_s.clone().requires_grad_(), prepend=True)
    algorithm.teacher.cls_head.fc_cls.register_forward_hook(
        lambda *_: logits_t.clone(), prepend=True)
    samples = [ActionDataSample().set_gt_labels(int(y)) for y in labels]

    losses = algorithm.loss(torch.randn(2, 1, 3, 4, 32, 32), samples)

    ce = -F.log_softmax(logits_s, 1).gather(1, labels[:, None]).mean()
    p_t = F.softmax(logits_t / T, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(logits_s / T, 1))).sum(1).mean()
    assert set(k for k in losses if 'loss' in k) == {
        'student.loss_cls', 'distill.loss_kl'
    }
    torch.testing.assert_close(losses['student.loss_cls'], (1 - beta) * ce)
    torch.testing.assert_close(losses['distill.loss_kl'], beta * T**2 * kl)
    total, _ = algorithm.parse_losses(losses)
    torch.testing.assert_close(total, (1 - beta) * ce + beta * T**2 * kl)


def test_teacher_frozen_student_trained():
    torch.manual_seed(0)
    algorithm = MMRAZOR_MODELS.build(tiny_kd_model_cfg())
    algorithm.init_weights()
    teacher_params = {
        name: p.detach().clone()
        for name, p in algorithm.teacher.named_parameters()
    }
    student_params = {
        name: p.detach().clone()
        for name, p in algorithm.student.named_parameters()
    }
    teacher_bn, student_bn = (bn_stats(algorithm.teacher),
                              bn_stats(algorithm.student))
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(algorithm.parameters(), lr=0.1, momentum=0.9))

    algorithm.train()
    algorithm.train_step(batch(), optim_wrapper)

    for name, param in algorithm.teacher.named_parameters():
        assert param.grad is None, name
        assert torch.equal(param, teacher_params[name]), name
    assert all(not m.training for m in algorithm.teacher.modules()
               if isinstance(m, _BatchNorm))
    for name, mean in bn_stats(algorithm.teacher).items():
        assert torch.equal(mean, teacher_bn[name]), name
    assert any(not torch.equal(p, student_params[name])
               for name, p in algorithm.student.named_parameters())
    assert all(not torch.equal(mean, student_bn[name])
               for name, mean in bn_stats(algorithm.student).items())


def test_convert_kd_ckpt_to_student(tmp_path, monkeypatch):
    torch.manual_seed(0)
    algorithm = MMRAZOR_MODELS.build(tiny_kd_model_cfg())
    history = HistoryBuffer()
    history.update(1.0)
    source = tmp_path / 'kd.pth'
    torch.save(
        dict(
            meta=dict(epoch=1, iter=2),
            state_dict=algorithm.state_dict(),
            optimizer=dict(state={}, param_groups=[]),
            message_hub=dict(log_scalars=dict(loss=history))), source)
    out = tmp_path / 'student.pth'
    tool = load_tool('convert_kd_ckpt_to_student')

    monkeypatch.setattr(sys, 'argv', ['convert', str(source), str(out)])
    tool.main()

    converted = torch.load(out, weights_only=True)
    assert set(converted) == {'meta', 'state_dict'}
    assert converted['meta'] == dict(epoch=1, iter=2)
    student_cfg = load_config('configs/mbv3d_driveact.py').model
    student_cfg.backbone.width_mult = 0.25
    student_cfg.cls_head.in_channels = 256
    student = MMACTION_MODELS.build(student_cfg)
    student.load_state_dict(converted['state_dict'], strict=True)
    expected = algorithm.student.state_dict()
    assert list(converted['state_dict']) == list(expected)
    for key, value in expected.items():
        assert torch.equal(converted['state_dict'][key], value), key

    with pytest.raises(SystemExit, match='--overwrite'):
        tool.main()
    monkeypatch.setattr(sys, 'argv',
                        ['convert', str(source), str(out), '--overwrite'])
    tool.main()


def tiny_runner_cfg(name: str, data: dict, work_dir: str) -> Config:
    """A config on ``data`` with 4-frame 64x64 clips, batch 2, 1 epoch.

    At 32x32 the student's last feature map is 1x1x1, and the last training
    batch, of one clip, could not go through BatchNorm.
    """
    cfg = load_config(name)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    for loader_name in ('train_dataloader', 'val_dataloader',
                        'test_dataloader'):
        loader = cfg[loader_name]
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader.dataset.ann_root = data['ann_root']
        loader.dataset.data_prefix = dict(video=data['video_root'])
        loader.dataset.pipeline = shrink_pipeline(
            loader.dataset.pipeline, clip_len=4, size=64)
    return cfg


def test_kd_one_epoch_then_student_test(tiny_driveact, tmp_path, monkeypatch):
    torch.manual_seed(0)
    teacher = MMACTION_MODELS.build(load_config(KD_CONFIG).model.teacher)
    teacher.init_weights()
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    cfg = tiny_runner_cfg(KD_CONFIG, tiny_driveact, str(tmp_path / 'kd'))
    cfg.model.teacher_ckpt = str(teacher_ckpt)
    cfg.train_cfg.val_interval = 1

    runner = Runner.from_cfg(cfg)
    runner.train()

    for name, value in teacher.state_dict().items():
        assert torch.equal(runner.model.teacher.state_dict()[name], value)
    scalars = runner.message_hub.log_scalars
    for key in ('train/student.loss_cls', 'train/distill.loss_kl',
                'val/acc/mean_class_accuracy',
                'val/teacher.acc/mean_class_accuracy'):
        assert key in scalars, sorted(scalars)
    # Student and teacher each keep their per-class files (DistillValLoop).
    for stem, key in (('', 'val/acc/mean_class_accuracy'),
                      ('teacher_', 'val/teacher.acc/mean_class_accuracy')):
        with open(osp.join(runner.log_dir,
                           f'{stem}per_class_accuracy.json')) as f:
            per_class = json.load(f)
        assert np.mean([c['accuracy'] for c in per_class.values()]) == \
            pytest.approx(scalars[key].current())
        assert osp.isfile(
            osp.join(runner.log_dir, f'{stem}confusion_matrix.png'))

    # The distilled student, alone, evaluated with the float config.
    student_ckpt = tmp_path / 'student.pth'
    monkeypatch.setattr(sys, 'argv', [
        'convert',
        str(tmp_path / 'kd' / 'epoch_1.pth'),
        str(student_ckpt)
    ])
    load_tool('convert_kd_ckpt_to_student').main()
    test_cfg = tiny_runner_cfg('configs/mbv3d_driveact.py', tiny_driveact,
                               str(tmp_path / 'test'))
    test_cfg.load_from = str(student_ckpt)
    tester = Runner.from_cfg(test_cfg)
    metrics = tester.test()
    for name, value in runner.model.student.state_dict().items():
        assert torch.equal(tester.model.state_dict()[name], value), name
    # The reported accuracy is that of the distilled student's predictions.
    from mmengine.runner import load_checkpoint

    from qd_plugin.deploy.data import build_dataset, load_samples
    from qd_plugin.deploy.runtimes import predict_scores
    student = MMACTION_MODELS.build(test_cfg.model)
    load_checkpoint(student, str(student_ckpt), map_location='cpu')
    student.eval()
    inputs, samples = load_samples(test_cfg, len(build_dataset(test_cfg)),
                                   student.data_preprocessor)
    expected = accuracies(predict_scores(student, inputs).numpy(),
                          [int(s.gt_labels.item) for s in samples])
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), key


@pytest.mark.parametrize(
    'name', ['configs/i3d_driveact.py', 'configs/i3d-r50_driveact.py'])
def test_teacher_config_builds(name):
    model = MMACTION_MODELS.build(load_config(name).model)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        outputs = model.test_step(batch(num=2, clip_len=8, size=32))
    scores = torch.stack([sample.pred_scores.item for sample in outputs])
    assert scores.shape == (2, NUM_CLASSES)


def test_a_frozen_teacher_is_validated_once(tiny_driveact, tmp_path):
    torch.manual_seed(0)
    teacher = MMACTION_MODELS.build(load_config(KD_CONFIG).model.teacher)
    teacher.init_weights()
    teacher_ckpt = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), teacher_ckpt)
    cfg = tiny_runner_cfg(KD_CONFIG, tiny_driveact, str(tmp_path / 'kd'))
    cfg.model.teacher_ckpt = str(teacher_ckpt)
    cfg.train_cfg.update(max_epochs=2, val_interval=1)
    runner = Runner.from_cfg(cfg)
    teacher_batches = []
    val_step = runner.model.teacher.val_step
    runner.model.teacher.val_step = lambda data: teacher_batches.append(
        data) or val_step(data)
    teacher_scores = []
    runner.register_hook(
        type('Record', (Hook, ), dict(after_val_epoch=lambda self, runner,
                                      metrics: teacher_scores.append(
                                          metrics['teacher.acc/top1'])))())
    runner.train()
    assert len(teacher_batches) == len(runner.val_dataloader)
    assert len(teacher_scores) == 2 and teacher_scores[0] == teacher_scores[1]
