import os.path as osp
from typing import Iterator, List, Sequence

import numpy as np

from .errors import VideoNotFoundError, VideoOpenError
from .frame_source import FrameSource

#: Decoders a stream reads files with, by the test pipeline's decode step.
BACKENDS = ('decord', 'opencv')


class VideoSource(FrameSource):
    """The frames of a video file, decoded as the test pipeline's decode step
    does: with decord for ``DecordDecode``, with OpenCV for ``OpenCVDecode``
    (RGB in both cases, as those steps give them).

    Args:
        path (str): The video file.
        backend (str): ``'decord'`` or ``'opencv'``. Defaults to decord.
        batch_size (int): Frames decoded per decord call when streaming.

    Raises:
        VideoNotFoundError: ``path`` does not exist.
        VideoOpenError: It cannot be opened or holds no frame.
    """

    def __init__(self,
                 path: str,
                 backend: str = 'decord',
                 batch_size: int = 32) -> None:
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got '
                             f'{backend!r}')
        if not osp.isfile(path):
            raise VideoNotFoundError(f'video not found: {path}')
        self.name = path
        self.backend = backend
        self.batch_size = batch_size
        if backend == 'decord':
            self._reader = self._open_decord()
            self.num_frames = len(self._reader)
            self.fps = float(self._reader.get_avg_fps()) or None
        else:
            capture = self._open_opencv()
            import cv2
            self.num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            self.fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
            capture.release()
        if not self.num_frames:
            raise VideoOpenError(f'cannot read video {path}: no frames')

    def _open_decord(self):
        import decord
        try:
            return decord.VideoReader(self.name, num_threads=1)
        except (decord.DECORDError, RuntimeError) as error:
            raise VideoOpenError(
                f'cannot read video {self.name}: '
                f'{str(error).splitlines()[0]}') from None

    def _open_opencv(self):
        import cv2
        capture = cv2.VideoCapture(self.name)
        if not capture.isOpened():
            raise VideoOpenError(f'cannot read video {self.name}: OpenCV '
                                 'cannot open it')
        return capture

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.backend == 'decord':
            yield from self._iter_decord()
        else:
            yield from self._iter_opencv()

    def _iter_decord(self) -> Iterator[np.ndarray]:
        import decord
        for start in range(0, self.num_frames, self.batch_size):
            indices = list(
                range(start, min(start + self.batch_size, self.num_frames)))
            try:
                batch = self._reader.get_batch(indices).asnumpy()
            except (decord.DECORDError, RuntimeError) as error:
                raise VideoOpenError(
                    f'cannot decode frames {indices[0]}-{indices[-1]} of '
                    f'{self.name}: {str(error).splitlines()[0]}') from None
            yield from batch

    def _iter_opencv(self) -> Iterator[np.ndarray]:
        capture = self._open_opencv()
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame[..., ::-1]
        finally:
            capture.release()

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """The frames at ``indices``, read as the decode step reads them."""
        if self.backend == 'decord':
            return list(self._reader.get_batch(list(indices)).asnumpy())
        import mmcv
        reader = mmcv.VideoReader(self.name)
        frames = []
        for index in indices:
            frame = reader[int(index)]
            while frame is None:  # as OpenCVDecode: OpenCV may miss the last
                index -= 1
                frame = reader[int(index)]
            frames.append(frame)
        return list(np.array(frames)[..., ::-1])

    def close(self) -> None:
        self._reader = None
