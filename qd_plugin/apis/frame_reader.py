import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .frame_source import FrameSource


class FrameDroppedError(LookupError):
    """A frame of a live source was dropped before it was used."""


class FrameReader:
    """Decode a :class:`FrameSource` in a background thread, so that decoding
    overlaps inference.

    Each frame is decoded, pre-processed by ``preprocess`` (the frame-wise
    steps of the test pipeline) in the thread and held in a buffer until
    :meth:`release` lets it go. For a file the thread waits when
    ``capacity`` frames are held; a live source (a camera) is never made to
    wait: the oldest frames are dropped instead, and counted.

    Args:
        source (FrameSource): The frames.
        preprocess (Callable): Frame -> (processed frame, metadata).
        capacity (int): Frames held at most.
        keep_raw (bool): Also hold each decoded frame as it came (e.g. for
            an annotated video).
    """

    def __init__(self,
                 source: FrameSource,
                 preprocess: Callable[[np.ndarray], Tuple[np.ndarray, Dict]],
                 capacity: int = 256,
                 keep_raw: bool = False) -> None:
        self.source = source
        self.preprocess = preprocess
        self.capacity = max(1, capacity)
        self.keep_raw = keep_raw
        self.live = bool(source.live)
        self.dropped = 0
        self._frames: Dict[int, Tuple[Any, ...]] = {}
        self._next = 0
        self._first = 0  # frames before it are released or dropped
        self._ended = False
        self._stopped = False
        self._error: Optional[BaseException] = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name=f'FrameReader({source.name})', daemon=True)
        self.started_at: Optional[float] = None

    def start(self) -> 'FrameReader':
        self.started_at = time.perf_counter()
        self._thread.start()
        return self

    @property
    def frames_read(self) -> int:
        return self._next

    @property
    def ended(self) -> bool:
        return self._ended

    def _run(self) -> None:
        try:
            for frame in self.source:
                with self._cond:
                    if self._stopped:
                        break
                    if self._next < self._first:  # released before read
                        self._next += 1
                        self._cond.notify_all()
                        continue
                processed, meta = self.preprocess(frame)
                item = (processed, meta, frame if self.keep_raw else None,
                        time.perf_counter())
                with self._cond:
                    while (not self.live and not self._stopped
                           and len(self._frames) >= self.capacity):
                        self._cond.wait()
                    if self._stopped:
                        break
                    self._frames[self._next] = item
                    self._next += 1
                    while len(self._frames) > self.capacity:
                        self._frames.pop(self._first, None)
                        self._first += 1
                        self.dropped += 1
                    self._cond.notify_all()
        except BaseException as error:  # re-raised in the consumer
            self._error = error
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def wait_for(self, index: int) -> bool:
        """Wait until frame ``index`` is read; False if the stream ended
        before it.

        Raises:
            Exception: What the reader thread raised (e.g. a decode error).
        """
        with self._cond:
            while self._next <= index and not self._ended:
                self._cond.wait()
            if self._error is not None and self._next <= index:
                raise self._error
            return self._next > index

    def latest(self) -> int:
        """Index of the newest frame read (-1 before the first)."""
        return self._next - 1

    def get(self, index: int) -> Tuple[Any, ...]:
        """(processed, metadata, raw frame or None, time it was read) of a
        frame that was read and not released.

        Raises:
            FrameDroppedError: A live source's frame was dropped.
        """
        with self._cond:
            try:
                return self._frames[index]
            except KeyError:
                raise FrameDroppedError(
                    f'frame {index} of {self.source.name} is no longer held '
                    f'(held: {self._first}..{self._next - 1})') from None

    def held(self, index: int) -> bool:
        with self._cond:
            return index in self._frames

    def release(self, before: int) -> None:
        """Let the frames before ``before`` go."""
        with self._cond:
            for index in range(self._first, min(before, self._next)):
                self._frames.pop(index, None)
            self._first = max(self._first, before)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the thread and release the source."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.source.close()
        self._frames.clear()
