from pathlib import Path

import pytest
from mmengine.runner import Runner
from torch.utils.data import SequentialSampler

from conftest import chunk_row, shrink_pipeline, split_path, tiny_config, \
    write_split
from qd_plugin.datasets import NoSingletonBatchSampler


@pytest.mark.parametrize('total,batch_size,expected', [
    (5, 2, [[0, 1], [2, 3]]),
    (6, 2, [[0, 1], [2, 3], [4, 5]]),
    (7, 3, [[0, 1, 2], [3, 4, 5]]),
    (8, 3, [[0, 1, 2], [3, 4, 5], [6, 7]]),
    (1, 2, [[0]]),  # the only batch is kept
    (3, 1, [[0], [1], [2]]),
])
def test_only_a_last_batch_of_one_is_dropped(total, batch_size, expected):
    sampler = NoSingletonBatchSampler(SequentialSampler(range(total)),
                                      batch_size)
    assert list(sampler) == expected
    assert len(sampler) == len(expected)


def test_skip_bad_videos_leaving_a_batch_of_one_trains(tiny_driveact,
                                                      tmp_path):
    """3 good chunks of 4 in batches of 2 at the quick flow's 32x32 clips:
    BatchNorm saw a batch of one 1x1x1 feature map and raised."""
    bad = Path(tiny_driveact['video_root']) / 'vp9' / 'broken.ids_1.mp4'
    bad.parent.mkdir()
    with open(bad, 'wb') as f:
        f.write(b'not a video' * 100)
    write_split(split_path(tiny_driveact['ann_root'], 'train'),
                tiny_driveact['rows']['train'] +
                [chunk_row('vp9/broken.ids_1', 0, 20, 'writing')])
    cfg = tiny_config('configs/mbv3d_driveact.py', tiny_driveact,
                      str(tmp_path / 'work'))
    cfg.train_dataloader.dataset.skip_bad_videos = True
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset.pipeline = shrink_pipeline(loader.dataset.pipeline,
                                                  clip_len=4, size=32)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.train_dataloader.dataset.num_skipped == 1
    assert len(runner.train_dataloader) == 1
    assert runner.iter == 1
