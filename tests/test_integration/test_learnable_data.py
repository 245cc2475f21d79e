"""The embedded synthetic data can be learned: a short training of the 3D
MobileNet from the clip cache beats chance by a clear margin on held-out
participants, while the same run with shuffled training labels does not."""
import csv

import numpy as np
import pytest
from mmengine.runner import Runner

from conftest import REPO_ROOT
from qd_plugin.datasets import build_clip_caches
from qd_plugin.datasets.driveact_layout import split_file_path
from qd_plugin.flow.presets import PRESETS
from qd_plugin.synthetic import make_synthetic_driveact
from qd_plugin.utils import load_config

# Four activities told apart by place and prop: chance is 25%.
CLASSES = ('talking_on_phone', 'interacting_with_phone', 'opening_door_inside',
           'using_multimedia_display')


@pytest.fixture(scope='module')
def driveact(tmp_path_factory):
    root = tmp_path_factory.mktemp('learnable') / 'driveact'
    make_synthetic_driveact(
        str(root), classes=CLASSES, num_participants=8,
        segments_per_recording=12, chunk_len=32, workers=2)
    return root


def shuffle_training_labels(ann_root: str) -> None:
    path = split_file_path(ann_root, 'inner_mirror', 0, 'train')
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    activities = np.random.default_rng(0).permutation(
        [row['activity'] for row in rows])
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row, activity in zip(rows, activities):
            writer.writerow(dict(row, activity=activity))


def train_and_test(driveact, work_dir, shuffle: bool) -> float:
    ann_root = str(driveact / 'activities_3s')
    if shuffle:
        copy = work_dir / 'activities_3s'
        copy.mkdir(parents=True)
        for view_dir in (driveact / 'activities_3s').iterdir():
            (copy / view_dir.name).mkdir()
            for split_file in view_dir.iterdir():
                (copy / view_dir.name / split_file.name).write_bytes(
                    split_file.read_bytes())
        ann_root = str(copy)
        shuffle_training_labels(ann_root)
    cfg = load_config(
        str(REPO_ROOT / 'configs' / 'mbv3d_driveact.py'),
        dict(data_root=str(driveact / 'videos'), ann_root=ann_root))
    preset = PRESETS['quick']
    preset.apply(cfg, 'float')
    # 150 steps of 16 clips.
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].update(T_max=2, end=2)
    cfg.train_dataloader.sampler.epoch_length = 1200
    cfg.default_hooks.logger.interval = 50
    cfg.work_dir = str(work_dir)
    cache = str(work_dir / 'clip_cache')
    build_clip_caches(cfg, cache)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.clip_cache = cache
    runner = Runner.from_cfg(cfg)
    # The validation after the last epoch recomputes the BN statistics of
    # the final weights (the preset's PreciseBNHook) before the test.
    runner.train()
    return runner.test()['acc/mean_class_accuracy']


def test_learns_the_activities_not_the_shuffled_labels(driveact, tmp_path):
    learned = train_and_test(driveact, tmp_path / 'labels', shuffle=False)
    shuffled = train_and_test(driveact, tmp_path / 'shuffled', shuffle=True)
    print(f'test mean class accuracy: {learned:.2f} with the labels, '
          f'{shuffled:.2f} with shuffled labels, chance 0.25')
    assert learned >= 0.6
    assert shuffled <= 0.45
