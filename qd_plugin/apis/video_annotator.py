import os
import os.path as osp
import queue
import threading
from typing import Optional

import numpy as np

from .window_prediction import WindowPrediction


class VideoAnnotator:
    """Write a stream's frames with the current activity and its confidence.

    A frame shows the newest prediction made by the time it was decoded:
    that of the last window ending at or before it (nothing before the
    first window). The label is the smoothed one when smoothing, with its
    score as a bar; the video is written to a temporary file and moved to
    ``path`` when closed, so an existing file is only replaced by a complete
    one. Drawing and encoding run in a writer thread (``background``), so
    they overlap the model.

    Args:
        path (str): The ``.mp4`` (or ``.avi``) to write.
        fps (float): Its frame rate.
        codec (str): FourCC of OpenCV's writer. Defaults to ``'mp4v'``.
        background (bool): Draw and encode in a writer thread. Defaults to
            True.
    """

    def __init__(self,
                 path: str,
                 fps: float,
                 codec: str = 'mp4v',
                 background: bool = True) -> None:
        folder = osp.dirname(osp.abspath(path))
        if not osp.isdir(folder):
            raise ValueError(f'folder of the video does not exist: {folder}')
        self.path = path
        self.fps = fps
        self.codec = codec
        self.frames_written = 0
        root, ext = osp.splitext(path)
        self._tmp = f'{root}.tmp{os.getpid()}{ext}'
        self._writer = None
        self._current: Optional[WindowPrediction] = None
        self._error: Optional[BaseException] = None
        self._queue: Optional[queue.Queue] = None
        if background:
            self._queue = queue.Queue(maxsize=64)
            self._thread = threading.Thread(
                target=self._drain, name=f'VideoAnnotator({path})',
                daemon=True)
            self._thread.start()

    def write(self, frame: np.ndarray) -> None:
        """Write the next frame (RGB) with the current prediction."""
        if self._error is not None:
            raise self._error
        self.frames_written += 1
        if self._queue is None:
            self._encode(frame, self._current)
        else:
            self._queue.put((frame, self._current))

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._encode(*item)
                except BaseException as error:  # re-raised by write/close
                    self._error = error

    def _encode(self, frame: np.ndarray,
                window: Optional[WindowPrediction]) -> None:
        import cv2
        image = np.ascontiguousarray(frame[..., ::-1])
        if self._writer is None:
            height, width = image.shape[:2]
            self._writer = cv2.VideoWriter(self._tmp,
                                           cv2.VideoWriter_fourcc(*self.codec),
                                           self.fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f'cannot write video {self.path} (codec '
                              f'{self.codec})')
        self._draw(image, window)
        self._writer.write(image)

    def update(self, window: WindowPrediction) -> None:
        """A new prediction: shown from the next frame written on."""
        self._current = window

    def _draw(self, image: np.ndarray,
              window: Optional[WindowPrediction]) -> None:
        import cv2
        height, width = image.shape[:2]
        scale = max(0.3, min(width, height) / 400)
        thickness = max(1, int(round(scale * 2)))
        if window is None:
            text, score = 'waiting for the first window', 0.0
        else:
            label, score = (window.smoothed_label, window.smoothed_score) \
                if window.smoothed_label else (window.label, window.score)
            text = f'{label} {score:.2f}'
        bar = int((width - 4) * max(0.0, min(1.0, score)))
        line = int(22 * scale) + 4
        cv2.rectangle(image, (0, 0), (width, line + 6), (0, 0, 0), -1)
        cv2.rectangle(image, (2, line + 2), (2 + bar, line + 5),
                      (0, 200, 255), -1)
        cv2.putText(image, text, (4, line - 4), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), thickness, cv2.LINE_AA)

    def _stop(self) -> None:
        if self._queue is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def close(self) -> Optional[str]:
        """Finish the video; the path written, None if no frame was.

        Raises:
            Exception: What drawing or encoding raised.
        """
        self._stop()
        if self._error is not None:
            self.discard()
            raise self._error
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Stop without replacing ``path`` (e.g. after an error)."""
        self._stop()
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if osp.exists(self._tmp):
            os.remove(self._tmp)
