from typing import Dict, Optional, Sequence

import numpy as np
import torch


class FrameNormalizer:
    """The data preprocessor's normalisation, applied to each frame once as
    it arrives instead of to every window it is in.

    For the common test setup (window steps ``FormatShape('NCTHW')`` +
    ``PackActionInputs``, MMAction2's ``ActionDataPreprocessor`` with mean and
    std, format ``NCTHW``, no channel swap) a window's model input is the
    stack of its normalised frames in NCTHW order, element for element the
    same float32 operations as the preprocessor's ``(x - mean) / std`` on the
    stacked window, so the same numbers; each frame is normalised once in the
    reader thread, and a window only gathers and transposes.
    :meth:`from_recognizer` gives None for any other setup (the stream then
    packs each window and runs the preprocessor).

    Args:
        mean (Sequence[float]): Per-channel mean.
        std (Sequence[float]): Per-channel std.
        num_clips (int): Clips of a window.
        clip_len (int): Frames of a clip.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 num_clips: int, clip_len: int) -> None:
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(-1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(-1)
        self.num_clips = num_clips
        self.clip_len = clip_len

    @classmethod
    def from_recognizer(cls, data_preprocessor: torch.nn.Module,
                        window_steps: Sequence[Dict], num_clips: int,
                        clip_len: int) -> Optional['FrameNormalizer']:
        """The normaliser equivalent to ``window_steps`` and
        ``data_preprocessor``, or None where it is not."""
        from mmaction.models import ActionDataPreprocessor
        types = [step.get('type') for step in window_steps]
        if types != ['FormatShape', 'PackActionInputs'] or \
                window_steps[0].get('input_format') != 'NCTHW' or \
                window_steps[0].get('collapse', False):
            return None
        if type(data_preprocessor) is not ActionDataPreprocessor or \
                data_preprocessor.format_shape != 'NCTHW' or \
                data_preprocessor.to_rgb or \
                not getattr(data_preprocessor, '_enable_normalize', False):
            return None
        return cls(data_preprocessor.mean, data_preprocessor.std, num_clips,
                   clip_len)

    def __call__(self, frame: np.ndarray) -> torch.Tensor:
        """A (H, W, C) frame -> its normalised float32 (C, H, W) tensor
        (channels first, so that a window is one copy of whole planes)."""
        planes = torch.from_numpy(np.ascontiguousarray(frame)).permute(
            2, 0, 1).contiguous()
        return (planes - self.mean.view(-1, 1, 1)) / self.std.view(-1, 1, 1)

    def window_input(self, frames: Sequence[torch.Tensor]) -> torch.Tensor:
        """Normalised frames of one view's window -> its model input,
        (num_clips, C, T, H, W), as FormatShape and the preprocessor
        arrange it."""
        frames = list(frames)
        length = self.clip_len
        return torch.stack([
            torch.stack(frames[k * length:(k + 1) * length], dim=1)
            for k in range(self.num_clips)
        ])
