from typing import Iterator, Optional

import numpy as np

from .errors import CameraOpenError
from .frame_source import FrameSource


class CameraSource(FrameSource):
    """Frames of a camera (OpenCV ``VideoCapture``), converted to RGB.

    A camera is live: its frames are grabbed at its own rate by the reader
    thread, whatever the model's speed.

    Args:
        index (int): The camera index (``/dev/video<index>``).
        fps (float, optional): Its frame rate if the driver does not say.
        max_frames (int, optional): Stop after so many frames.

    Raises:
        CameraOpenError: The camera cannot be opened or gives no frame.
    """

    live = True

    def __init__(self,
                 index: int,
                 fps: Optional[float] = None,
                 max_frames: Optional[int] = None) -> None:
        import cv2
        self.name = f'camera {index}'
        self.index = index
        self.max_frames = max_frames
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraOpenError(f'cannot open camera {index}')
        ok, self._first = self._capture.read()
        if not ok:
            self._capture.release()
            raise CameraOpenError(f'camera {index} opened but gives no frame')
        self.fps = fps or float(self._capture.get(cv2.CAP_PROP_FPS)) or None

    def __iter__(self) -> Iterator[np.ndarray]:
        count = 0
        frame = self._first
        while frame is not None and (self.max_frames is None
                                     or count < self.max_frames):
            yield np.ascontiguousarray(frame[..., ::-1])
            count += 1
            ok, frame = self._capture.read()
            if not ok:
                frame = None

    def close(self) -> None:
        self._capture.release()
