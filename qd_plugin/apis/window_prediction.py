from dataclasses import dataclass
from typing import Dict, Optional

from .clip_prediction import ClipPrediction


@dataclass(kw_only=True)
class WindowPrediction(ClipPrediction):
    """A :class:`ClipPrediction` of one window of a stream.

    Attributes:
        start_frame (int): The window's first frame.
        end_frame (int): One past its last frame.
        fps (float, optional): The stream's frame rate.
        smoothed_label_id (int): Top-1 of the mean class scores of the last
            ``smooth`` windows (this one included); the top-1 itself when
            not smoothing.
        smoothed_label (str): Its name.
        smoothed_score (float): Its smoothed score.
        latency_ms (float): Time to make the prediction once the window's
            frames were there: gathering the pre-processed frames, the
            window steps, normalisation and the model.
        delay_ms (float): From the moment its last frame was decoded to the
            prediction (the latency plus any wait for earlier windows).
    """

    start_frame: int
    end_frame: int
    fps: Optional[float] = None
    smoothed_label_id: int = -1
    smoothed_label: str = ''
    smoothed_score: float = float('nan')
    latency_ms: float = float('nan')
    delay_ms: float = float('nan')

    @property
    def start_time(self) -> Optional[float]:
        """Seconds from the stream's start to the window's first frame."""
        return self.start_frame / self.fps if self.fps else None

    @property
    def end_time(self) -> Optional[float]:
        """Seconds from the stream's start to the end of the window."""
        return self.end_frame / self.fps if self.fps else None

    def to_dict(self) -> Dict:
        record = dict(
            start_frame=self.start_frame,
            end_frame=self.end_frame,
            start_time=self.start_time,
            end_time=self.end_time)
        record.update(super().to_dict())
        record.update(
            smoothed_label=self.smoothed_label,
            smoothed_score=self.smoothed_score,
            latency_ms=self.latency_ms,
            delay_ms=self.delay_ms)
        return record
