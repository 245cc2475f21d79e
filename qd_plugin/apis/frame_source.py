"""Where the frames of a stream come from."""
from typing import Iterator, List, Optional, Sequence

import numpy as np


class FrameSource:
    """Frames in order, each an (H, W, 3) uint8 RGB array (the channel order
    of MMAction2's video decoders).

    Attributes:
        name (str): The video path, ``'camera <index>'`` or ``'frames'``.
        fps (float, optional): Frames per second, where known.
        num_frames (int, optional): Length, where known (not for cameras).
        live (bool): Frames come at their own pace and are not waited for
            (a camera): a consumer that falls behind skips windows instead
            of falling ever further behind.
    """

    name = 'frames'
    fps: Optional[float] = None
    num_frames: Optional[int] = None
    live = False

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """The frames at ``indices`` (random access; not for live sources).
        """
        raise NotImplementedError(
            f'{type(self).__name__} has no random access')

    def close(self) -> None:
        """Release the decoder or device."""

    def __enter__(self) -> 'FrameSource':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
