"""Data, checkpoints and tiny configs shared by the reliability tests."""
import copy
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.config import Config

from conftest import (REPO_ROOT, TINY_FILES, chunk_row, tiny_config,
                      write_splits)

HERE = Path(__file__).resolve().parent
KD_QAT_CONFIG = 'configs/kd_qat_mbv3d.py'
WIDTH = 0.25
SIZE = 64  # the crop of conftest.shrink_pipeline
INPUT_SHAPE = (1, 1, 3, 4, SIZE, SIZE)


def write_textured_video(path: Path, num_frames: int, seed: int,
                         size=(48, 64)) -> None:
    """An mp4v video of random texture. (Flat frames, as conftest writes,
    give BN layers zero variance: QAT gradients overflow to NaN within two
    epochs, and NaN weights never compare equal.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 30, (width, height))
    for i in range(num_frames):
        writer.write(np.roll(base, 2 * i, axis=1))  # a moving texture
    writer.release()


def make_textured_driveact(root: Path) -> Dict:
    """The layout of conftest's ``tiny_driveact`` with textured videos: 4
    train chunks (2 classes), 1 val and 2 test chunks."""
    video_root, ann_root = root / 'videos', root / 'activities_3s'
    files = TINY_FILES
    for seed, file_id in enumerate(files):
        write_textured_video(video_root / f'{file_id}.mp4', 60, seed)
    rows = {
        'train': [
            chunk_row(files[0], 0, 20, 'drinking', 0, 0),
            chunk_row(files[0], 20, 40, 'drinking', 0, 1),
            chunk_row(files[0], 40, 60, 'eating', 1, 0),
            chunk_row(files[1], 30, 60, 'eating', 2, 0),
        ],
        'val': [chunk_row(files[1], 0, 30, 'eating', 3, 0)],
        'test': [
            chunk_row(files[1], 10, 30, 'drinking', 4, 0),
            chunk_row(files[1], 30, 60, 'writing', 5, 0)
        ],
    }
    write_splits(ann_root, rows)
    return dict(ann_root=str(ann_root), video_root=str(video_root), rows=rows)


def save_tiny_checkpoints(out_dir: Path) -> Tuple[str, str]:
    """A freshly initialised I3D teacher and 0.25x float student of
    configs/kd_qat_mbv3d.py, saved as Runner-style checkpoints.

    Returns:
        tuple[str, str]: The teacher and the float student checkpoint.
    """
    model = Config.fromfile(str(REPO_ROOT / KD_QAT_CONFIG)).model
    student_cfg = copy.deepcopy(model.architecture)
    student_cfg.pop('_scope_')
    student_cfg.backbone.width_mult = WIDTH
    student_cfg.cls_head.in_channels = int(1024 * WIDTH)
    teacher_cfg = copy.deepcopy(model.teacher)
    teacher_cfg.pop('_scope_')
    paths = []
    torch.manual_seed(0)
    for name, cfg in (('teacher', teacher_cfg), ('float_student',
                                                 student_cfg)):
        network = MMACTION_MODELS.build(cfg)
        network.init_weights()
        path = out_dir / f'{name}.pth'
        torch.save(dict(state_dict=network.state_dict(), meta=dict()), path)
        paths.append(str(path))
    return paths[0], paths[1]


def tiny_kd_qat_cfg(data: Dict, work_dir: str, teacher_ckpt: str,
                    float_checkpoint: str, max_epochs: int) -> Config:
    """configs/kd_qat_mbv3d.py with a 0.25x student, 4-frame 64x64 clips,
    a checkpoint every epoch and the test-only hooks importable."""
    cfg = tiny_config(KD_QAT_CONFIG, data, work_dir)
    cfg.model.architecture.backbone.width_mult = WIDTH
    cfg.model.architecture.cls_head.in_channels = int(1024 * WIDTH)
    cfg.model.teacher_ckpt = cfg.teacher_ckpt = teacher_ckpt
    cfg.model.float_checkpoint = cfg.float_checkpoint = float_checkpoint
    cfg.model.input_shapes = INPUT_SHAPE
    cfg.test_cfg.input_shape = INPUT_SHAPE
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = 1
    # Observers on in the first epoch, frozen (with BN) from the second.
    cfg.train_cfg.freeze_bn_begin = 2
    cfg.train_cfg.disable_observer_begin = 2
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.custom_imports.imports.append('reliability_hooks')
    return cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env() -> Dict[str, str]:
    """The environment of a tool subprocess: the test hooks importable."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(HERE), env.get('PYTHONPATH')) if p)
    return env


def run_tool(*args, timeout: int = 300,
             **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT,
                          env=tool_env(), timeout=timeout, **kwargs)


def snapshot(directory: Path) -> Dict[str, Tuple[bytes, int]]:
    """Every file under ``directory``: its bytes and modification time."""
    return {
        str(path.relative_to(directory)): (path.read_bytes(),
                                           path.stat().st_mtime_ns)
        for path in sorted(directory.rglob('*')) if path.is_file()
    }
