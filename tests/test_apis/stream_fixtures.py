"""Helpers of the inference API tests: textured videos (so that resizing and
cropping change the frames), split files over them, and the tiny models of
the deploy tests."""
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from conftest import chunk_row, write_splits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_deploy'))
from tiny_deploy import (CLIP_LEN, SIZE, tiny_deploy_config,  # noqa: E402
                         tiny_model_config, tiny_qat_config,
                         write_tiny_checkpoint, write_tiny_qat_checkpoint)

__all__ = [
    'CLIP_LEN', 'SIZE', 'tiny_deploy_config', 'tiny_model_config',
    'tiny_qat_config', 'write_tiny_checkpoint', 'write_tiny_qat_checkpoint',
    'write_textured_video', 'textured_driveact', 'FILE_ID'
]

FILE_ID = 'vp1/run1_2018-05-29-14-02-47.ids_1'
#: (height, width) of the videos: resized to SIZE on the short side, then
#: centre-cropped, so both steps change them.
FRAME_SIZE = (40, 56)


def write_textured_video(path: Path, num_frames: int,
                         size: Tuple[int, int] = FRAME_SIZE,
                         seed: int = 0) -> None:
    """An mp4v video of smooth random patterns drifting over time."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    rng = np.random.default_rng(seed)
    base = cv2.resize(
        rng.integers(0, 256, (height // 4, width // 2, 3), dtype=np.uint8),
        (width * 2, height), interpolation=cv2.INTER_LINEAR)
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 30, (width, height))
    for i in range(num_frames):
        shift = (2 * i) % width
        frame = np.ascontiguousarray(base[:, shift:shift + width])
        frame = cv2.add(frame, np.full_like(frame, (3 * i) % 64))
        writer.write(frame)
    writer.release()


def textured_driveact(root: Path, num_frames: int,
                      chunks: Sequence[Tuple[int, int]],
                      activities: Sequence[str] = ('drinking', 'eating')
                      ) -> Dict:
    """One textured recording and a test split with ``chunks`` of it
    (the same rows in train and val, which the tests do not use)."""
    root = Path(root)
    video_root, ann_root = root / 'videos', root / 'activities_3s'
    write_textured_video(video_root / f'{FILE_ID}.mp4', num_frames)
    rows: List[Dict] = [
        chunk_row(FILE_ID, start, end, activities[i % len(activities)], i, 0)
        for i, (start, end) in enumerate(chunks)
    ]
    write_splits(ann_root, dict(train=rows, val=rows, test=rows))
    return dict(ann_root=str(ann_root), video_root=str(video_root),
                video=str(video_root / f'{FILE_ID}.mp4'), rows=rows)
