from typing import Iterable, Iterator, List, Optional, Sequence

import numpy as np

from .frame_source import FrameSource


class ArraySource(FrameSource):
    """Frames already in memory: a (T, H, W, 3) uint8 array, a list of
    (H, W, 3) arrays or any iterable of them (e.g. a generator fed by another
    camera API).

    Args:
        frames (np.ndarray | Iterable[np.ndarray]): RGB uint8 frames.
        fps (float, optional): Their frame rate, for timestamps.
    """

    def __init__(self,
                 frames: Iterable[np.ndarray],
                 fps: Optional[float] = None) -> None:
        self.frames = frames
        self.fps = fps
        self.num_frames = len(frames) if hasattr(frames,
                                                 '__len__') else None

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self.frames:
            yield _checked(frame)

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        if not hasattr(self.frames, '__getitem__'):
            return super().read(indices)
        return [_checked(self.frames[int(i)]) for i in indices]


def _checked(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError('frames must be (H, W, 3) uint8 RGB arrays, got '
                         f'{frame.dtype} {frame.shape}')
    return frame
