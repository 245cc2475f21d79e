"""Helpers of the deploy tests: a tiny MobileNet3D (width 0.25) on 4-frame
32x32 clips of the tiny Drive&Act fixture, and deploy configs at that shape."""
from pathlib import Path
from typing import Dict

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, shrink_pipeline, tiny_config

CLIP_LEN, SIZE = 4, 32
INPUT_SHAPE = [1, 1, 3, CLIP_LEN, SIZE, SIZE]


def tiny_model_config(data, work_dir) -> Config:
    cfg = tiny_config('configs/mbv3d_driveact.py', data, str(work_dir))
    cfg.model.backbone.width_mult = 0.25
    cfg.model.cls_head.in_channels = 256
    for name in ('val_dataloader', 'test_dataloader'):
        dataset = cfg[name].dataset
        dataset.pipeline = shrink_pipeline(dataset.pipeline, CLIP_LEN, SIZE)
    cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline
    return cfg


def tiny_deploy_config(name: str) -> Config:
    """``configs/deploy/<name>.py`` at the tiny input shape."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'deploy' / f'{name}.py'))
    cfg.backend_config.model_inputs = [dict(opt_shapes=dict(
        input=list(INPUT_SHAPE)))]
    if cfg.onnx_config.input_shape is not None:
        cfg.onnx_config.input_shape = [SIZE, SIZE]
    return cfg


def write_tiny_checkpoint(model_cfg: Config, path: Path) -> Path:
    """A checkpoint whose eval-mode outputs depend on the input.

    Initialised by the config's ``init_cfg``, then BN statistics are set from
    a few random clips: with BN's initial statistics (mean 0, var 1) the
    untrained stack shrinks activations to ~0, every input gives the same
    output and a parity check would see nothing.
    """
    from mmaction.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(model_cfg.model)
    model.init_weights()
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model.extract_feat(torch.randn(8, 1, 3, CLIP_LEN, SIZE, SIZE))
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def tiny_setup(data, tmp_path) -> Dict:
    """The tiny model config, a checkpoint for it, and the model config and
    deploy configs dumped to files (for the tools), under ``tmp_path``."""
    tmp_path = Path(tmp_path)
    cfg = tiny_model_config(data, tmp_path / 'work')
    files = dict(cfg=cfg, model=tmp_path / 'mbv3d_tiny.py')
    cfg.dump(str(files['model']))
    files['checkpoint'] = write_tiny_checkpoint(cfg, tmp_path / 'tiny.pth')
    for name in ('video-recognition_3d_onnxruntime_dynamic',
                 'video-recognition_3d_openvino_static'):
        files[name] = tmp_path / f'{name}_tiny.py'
        tiny_deploy_config(name).dump(str(files[name]))
    return files


def tiny_qat_config(data, work_dir) -> Config:
    """configs/qat_mbv3d.py with the tiny student and clips."""
    cfg = tiny_config('configs/qat_mbv3d.py', data, str(work_dir))
    cfg.model.architecture.backbone.width_mult = 0.25
    cfg.model.architecture.cls_head.in_channels = 256
    cfg.model.float_checkpoint = None
    cfg.model.input_shapes = tuple(INPUT_SHAPE)
    for name in ('val_dataloader', 'test_dataloader'):
        dataset = cfg[name].dataset
        dataset.pipeline = shrink_pipeline(dataset.pipeline, CLIP_LEN, SIZE)
    cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline
    return cfg


def write_tiny_qat_checkpoint(qat_cfg: Config, path: Path,
                              clips: str = 'randn') -> Path:
    """A QAT checkpoint as training leaves it: BN statistics of some clips,
    observer ranges collected with them, observers then off. ``clips``:
    ``'randn'`` (normal clips) or ``'frames'`` (uniform in [-1, 1], the
    range of normalised uint8 frames)."""
    import mmrazor.engine  # noqa: F401
    import mmrazor.models  # noqa: F401
    from mmrazor.registry import MODELS
    from torch.ao.nn.intrinsic.qat import freeze_bn_stats
    from torch.ao.quantization import disable_observer
    torch.manual_seed(0)
    model = MODELS.build(qat_cfg.model)
    student = model.architecture
    for module in student.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    student.train()
    model.train()
    model.apply(freeze_bn_stats)
    def sample() -> torch.Tensor:
        shape = (4, 1, 3, CLIP_LEN, SIZE, SIZE)
        if clips == 'frames':
            return torch.rand(shape) * 2 - 1
        return torch.randn(shape)

    with torch.no_grad():
        for _ in range(3):
            student(sample(), None, 'tensor')
        for _ in range(3):
            model(sample(), None, 'tensor')
    model.eval()
    model.apply(disable_observer)
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def qat_checkpoint(tmp_path_factory):
    """A tiny QAT checkpoint, written once per test module: it depends on
    the model only, not on the data."""
    path = tmp_path_factory.mktemp('qat')
    cfg = tiny_qat_config(dict(ann_root='unused', video_root='unused'),
                          path / 'work')
    return str(write_tiny_qat_checkpoint(cfg, path / 'qat.pth'))


@pytest.fixture
def tiny_qat(tiny_driveact, tmp_path, qat_checkpoint):
    """(the tiny QAT config on the tiny Drive&Act data, its checkpoint)."""
    return tiny_qat_config(tiny_driveact, tmp_path / 'work'), qat_checkpoint
