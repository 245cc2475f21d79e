import time
from collections import deque
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .clip_prediction import ClipPrediction, top_k
from .frame_reader import FrameDroppedError, FrameReader
from .frame_source import FrameSource
from .window_prediction import WindowPrediction


class WindowStream:
    """Sliding-window predictions over one stream, or several synchronised
    views of it, as they come.

    Windows start at frames ``0, hop, 2 * hop, ...``; one is predicted as
    soon as its last frame is decoded (a reader thread per view decodes and
    pre-processes ahead), the views of a window in one batch. A stream of
    ``N`` frames gives ``(N - window_length) // hop + 1`` windows (none if
    ``N < window_length``). For a live source (a camera) whose frames come
    faster than windows are predicted, the windows that fell behind are
    skipped (counted in :attr:`skipped`), so predictions stay current.

    Iterate to get :class:`WindowPrediction` s; :meth:`summary` gives the
    real-time factor and the latencies. Use it as a context manager or call
    :meth:`close`.

    Args:
        recognizer (StreamRecognizer): The model and its pipeline.
        sources (Sequence[FrameSource]): One per view, frame-synchronised.
        hop (int, optional): Frames between window starts. Defaults to
            half a window.
        topk (int): Classes kept per window. Defaults to 5.
        smooth (int): Windows averaged for the smoothed label. Defaults to 1
            (no smoothing).
        keep_frames (bool): Hold the decoded frames until
            :meth:`release_frames` (e.g. to draw an annotated video).
        capacity (int, optional): Frames buffered per view. Defaults to
            ``2 * (window_length + hop) + 16``.
    """

    def __init__(self,
                 recognizer: 'StreamRecognizer',  # noqa: F821 (no cycle)
                 sources: Sequence[FrameSource],
                 hop: Optional[int] = None,
                 topk: int = 5,
                 smooth: int = 1,
                 keep_frames: bool = False,
                 capacity: Optional[int] = None) -> None:
        if not sources:
            raise ValueError('a stream needs at least one source')
        self.recognizer = recognizer
        self.pipeline = recognizer.pipeline
        self.window_length = self.pipeline.window_length
        self.hop = int(hop or max(1, self.window_length // 2))
        if self.hop < 1:
            raise ValueError(f'hop must be >= 1 frame, got {hop}')
        if smooth < 1:
            raise ValueError(f'smooth must be >= 1 window, got {smooth}')
        self.topk = min(topk, len(recognizer.classes))
        self.sources = list(sources)
        self.live = any(source.live for source in self.sources)
        self.fps = self.sources[0].fps
        lengths = [source.num_frames for source in self.sources]
        self.num_frames = None if None in lengths else min(lengths)
        self.keep_frames = keep_frames
        capacity = capacity or 2 * (self.window_length + self.hop) + 16
        self.capacity = capacity
        self.normalizer = recognizer.frame_normalizer
        self.readers = [
            FrameReader(source, self._preprocess_frame, capacity,
                        keep_frames) for source in self.sources
        ]
        self.windows = 0
        self.skipped = 0
        self.latencies_ms: List[float] = []
        self.delays_ms: List[float] = []
        self._history: deque = deque(maxlen=smooth)
        self._start = 0
        self._frames_released = 0
        self._started: Optional[float] = None
        self._finished: Optional[float] = None

    @property
    def expected_windows(self) -> Optional[int]:
        """Windows of a stream of known length (none skipped)."""
        if self.num_frames is None:
            return None
        return max(0, (self.num_frames - self.window_length) // self.hop + 1)

    @property
    def frames_read(self) -> int:
        return min(reader.frames_read for reader in self.readers)

    def __iter__(self) -> 'WindowStream':
        return self

    def __next__(self) -> WindowPrediction:
        if self._started is None:
            self._started = time.perf_counter()
            for reader in self.readers:
                reader.start()
        while True:
            start = self._start
            end = start + self.window_length
            if self.keep_frames and not self.live and \
                    end - self._frames_released > self.capacity:
                raise RuntimeError(
                    f'keep_frames: frames {self._frames_released}..{end - 1} '
                    f'are held, more than the {self.capacity} buffered: '
                    'call release_frames() for the frames you are done with')
            if not all(reader.wait_for(end - 1) for reader in self.readers):
                self._finished = self._finished or time.perf_counter()
                raise StopIteration
            if self.live:
                newest = min(reader.latest() for reader in self.readers) + 1
                newest_start = (newest - self.window_length) // self.hop * \
                    self.hop
                if newest_start > start:
                    self.skipped += (newest_start - start) // self.hop
                    start, end = newest_start, newest_start + \
                        self.window_length
            try:
                return self._predict(start, end)
            except FrameDroppedError:
                if not self.live:
                    raise
                self.skipped += 1
                self._start = start + self.hop

    def _preprocess_frame(self, frame: np.ndarray):
        """In the reader thread: the frame-wise steps, then (fast path)
        the data preprocessor's normalisation."""
        processed, meta = self.pipeline.preprocess_frame(frame)
        if self.normalizer is not None:
            processed = self.normalizer(processed)
        return processed, meta

    def window_inputs(self, start: int, end: int) -> torch.Tensor:
        """The model input of the window ``[start, end)``, every view:
        (num_views, num_clips, C, T, H, W)."""
        if self.normalizer is None:
            packed = [
                self.pipeline.pack(lambda i, r=reader: r.get(i)[:2], start,
                                   self.num_frames, end)
                for reader in self.readers
            ]
            return self.recognizer.preprocess(packed)
        inds = self.pipeline.frame_inds(start, self.num_frames, end)
        return torch.stack([
            self.normalizer.window_input([reader.get(int(i))[0]
                                          for i in inds])
            for reader in self.readers
        ])

    def _predict(self, start: int, end: int) -> WindowPrediction:
        began = time.perf_counter()
        inputs = self.window_inputs(start, end)
        ready = max(reader.get(end - 1)[3] for reader in self.readers)
        scores = self.recognizer.predict(inputs)
        done = time.perf_counter()
        clip = ClipPrediction.from_scores(scores, self.recognizer.classes,
                                          self.topk)
        self._history.append(clip.class_scores)
        smoothed = np.mean(self._history, axis=0)
        smoothed_id = top_k(smoothed, 1)[0]
        window = WindowPrediction(
            clip.label_ids,
            clip.labels,
            clip.scores,
            clip.class_scores,
            clip.view_scores,
            start_frame=start,
            end_frame=end,
            fps=self.fps,
            smoothed_label_id=smoothed_id,
            smoothed_label=self.recognizer.classes[smoothed_id],
            smoothed_score=float(smoothed[smoothed_id]),
            latency_ms=(done - began) * 1e3,
            delay_ms=(done - ready) * 1e3)
        self.windows += 1
        self.latencies_ms.append(window.latency_ms)
        self.delays_ms.append(window.delay_ms)
        self._start = start + self.hop
        self._release()
        return window

    def _release(self) -> None:
        before = self._start
        if self.keep_frames:
            before = min(before, self._frames_released)
        for reader in self.readers:
            reader.release(before)

    def frame(self, index: int, view: int = 0) -> np.ndarray:
        """Decoded frame ``index`` of a view (needs ``keep_frames``), as the
        source gave it (RGB)."""
        if not self.keep_frames:
            raise RuntimeError('open the stream with keep_frames=True')
        self.readers[view].wait_for(index)
        return self.readers[view].get(index)[2]

    def release_frames(self, before: int) -> None:
        """With ``keep_frames``: the frames before ``before`` are no longer
        needed by the caller."""
        self._frames_released = max(self._frames_released, before)
        self._release()

    def summary(self) -> Dict:
        """Frames, windows, real-time factor (seconds of video per wall
        second, from the start to the last window) and latencies (ms)."""
        wall = ((self._finished or time.perf_counter()) -
                self._started) if self._started else 0.0
        frames = self.frames_read
        video_seconds = frames / self.fps if self.fps else None
        return dict(
            source=[source.name for source in self.sources],
            fps=self.fps,
            frames=frames,
            video_seconds=video_seconds,
            wall_seconds=wall,
            real_time_factor=(video_seconds / wall
                              if video_seconds and wall else None),
            windows=self.windows,
            skipped_windows=self.skipped,
            dropped_frames=sum(reader.dropped for reader in self.readers),
            window_length=self.window_length,
            hop=self.hop,
            latency_ms=latency_stats(self.latencies_ms),
            delay_ms=latency_stats(self.delays_ms))

    def close(self) -> None:
        """Stop the reader threads and release the sources."""
        for reader in self.readers:
            reader.close()
        self._finished = self._finished or time.perf_counter()

    def __enter__(self) -> 'WindowStream':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def latency_stats(values_ms: Sequence[float]) -> Dict[str, Optional[float]]:
    """p50, p90, mean and max of latencies (ms); None without values."""
    if not len(values_ms):
        return dict(p50=None, p90=None, mean=None, max=None)
    values = np.asarray(values_ms, dtype=np.float64)
    return dict(
        p50=float(np.percentile(values, 50)),
        p90=float(np.percentile(values, 90)),
        mean=float(values.mean()),
        max=float(values.max()))
