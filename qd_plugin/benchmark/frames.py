"""Camera frames: what a car's decoder gives (uint8 (T, H, W, 3), already
resized and cropped) and the preprocessing each artifact needs to turn them
into its input.

The test pipeline's clips before the recognizer's data preprocessor are those
frames (``FormatShape`` has only moved the channel axis); the float artifacts
take ``(frames - mean) / std`` as float32 (N, 1, C, T, H, W).
"""
import copy
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from ..deploy.data import build_dataset, spread_indices

#: What the benchmark rows are timed from (``input`` of a row).
INPUT_KINDS = ('tensor', 'frames')


def clips_to_frames(clips: np.ndarray) -> np.ndarray:
    """Pipeline clips (num_clips, C, T, H, W) -> frames (T, H, W, C).

    Raises:
        ValueError: more than one clip per sample, or not uint8.
    """
    clips = np.asarray(clips)
    if clips.ndim != 5 or clips.shape[0] != 1:
        raise ValueError('frames-in rows take one clip per sample; the '
                         f'pipeline gives {clips.shape}')
    if clips.dtype != np.uint8:
        raise ValueError(f'the pipeline gives {clips.dtype} clips, not the '
                         'uint8 frames of a decoder')
    return np.ascontiguousarray(clips[0].transpose(1, 2, 3, 0))


def test_pipeline_config(model_cfg: Config, loader: str) -> Config:
    """``model_cfg`` whose ``loader`` dataset runs the test pipeline (e.g.
    training clips for calibration, without the training augmentations)."""
    cfg = copy.deepcopy(model_cfg)
    cfg[loader].dataset.pipeline = copy.deepcopy(
        model_cfg.test_dataloader.dataset.pipeline)
    cfg[loader].dataset.test_mode = True
    return cfg


def iter_frames(model_cfg: Config,
                loader: str = 'test_dataloader',
                num: Optional[int] = None,
                chunk: int = 32) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Chunks of (frames (n, T, H, W, C) uint8, labels (n,)) of a dataset
    through the test pipeline, all clips (``num`` None) or ``num`` spread
    evenly, in dataset order; memory holds one chunk."""
    dataset = build_dataset(test_pipeline_config(model_cfg, loader), loader)
    indices = list(range(len(dataset))) if num is None else spread_indices(
        len(dataset), num)
    for start in range(0, len(indices), chunk):
        frames, labels = [], []
        for index in indices[start:start + chunk]:
            item = dataset[index]
            frames.append(clips_to_frames(np.asarray(item['inputs'])))
            labels.append(int(item['data_samples'].gt_labels.item))
        yield np.stack(frames), np.asarray(labels)


def load_frames(model_cfg: Config,
                num: Optional[int],
                loader: str = 'test_dataloader') -> Tuple[np.ndarray,
                                                          np.ndarray]:
    """All of :func:`iter_frames` at once: (frames, labels)."""
    chunks = list(iter_frames(model_cfg, loader, num))
    return (np.concatenate([c[0] for c in chunks]),
            np.concatenate([c[1] for c in chunks]))


class Normalise:
    """uint8 frames (N, T, H, W, C) -> the float artifacts' input
    (N, 1, C, T, H, W) float32 ``(x - mean) / std``, as a user's numpy code
    would do it: transpose the uint8 frames (4x fewer bytes to move than
    float), convert, subtract and scale in place.

    Args:
        mean, std (Sequence[float]): Per channel, the recognizer's data
            preprocessor's.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        shape = (1, 1, -1, 1, 1, 1)
        self.mean = np.reshape(np.asarray(mean, np.float32), shape)
        self.inv_std = np.reshape(1 / np.asarray(std, np.float32), shape)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = frames.transpose(0, 4, 1, 2, 3)[:, None].astype(np.float32)
        x -= self.mean
        x *= self.inv_std
        return x


class FramesIn:
    """A tensor-in runtime behind its preprocessing: frames -> scores.

    Args:
        runtime (callable): Takes the preprocessed input.
        preprocess (callable): Frames -> that input.
    """

    def __init__(self, runtime: Callable[[np.ndarray], np.ndarray],
                 preprocess: Callable[[np.ndarray], np.ndarray]) -> None:
        self.runtime = runtime
        self.preprocess = preprocess

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.runtime(self.preprocess(frames))


def batched(run: Callable[[np.ndarray], np.ndarray],
            batch: int) -> Callable[[np.ndarray], np.ndarray]:
    """A batch-1 callable applied to each of a batch's samples in turn."""

    def run_each(inputs: np.ndarray) -> np.ndarray:
        return np.concatenate([run(inputs[i:i + 1]) for i in range(batch)])

    return run_each


def tile_batch(inputs: np.ndarray, batch: int) -> np.ndarray:
    """``batch`` samples from the first ones of ``inputs`` (repeated if
    fewer), e.g. one clip per camera view."""
    picks: List[int] = [i % len(inputs) for i in range(batch)]
    return np.ascontiguousarray(inputs[picks])
