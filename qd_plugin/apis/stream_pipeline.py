"""The test pipeline of a recognizer cut for a stream of frames."""
import copy
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ModelConfigError

#: Decoder-opening steps; a stream has its frames already.
INIT_STEPS = ('DecordInit', 'OpenCVInit', 'PyAVInit')
#: Frame-sampling steps; a window is sampled as a chunk of a long video.
SAMPLING_STEPS = ('SampleChunkFrames', 'SampleFrames')
#: Decode steps, and the decoder a stream reads files with to give the same
#: frames.
DECODE_STEPS = {'DecordDecode': 'decord', 'OpenCVDecode': 'opencv'}
#: Steps that transform each frame alone, the same way for every frame of a
#: window: a stream applies them once per frame, not once per window.
FRAMEWISE_STEPS = ('Resize', 'CenterCrop')


class StreamPipeline:
    """A test pipeline (``test_dataloader.dataset.pipeline``) cut in three
    for a stream: sampling, frame-wise steps and window steps.

    A window is the frame range ``[start, start + window_length)`` of the
    stream. Its frames are those the pipeline's sampling step picks in a
    chunk of that range (``SampleChunkFrames``, with the same arguments;
    a plain ``SampleFrames`` is applied the same way, to the window), and its
    input is what the rest of the pipeline makes of them: the steps after the
    decode that act on each frame alone (``Resize``, ``CenterCrop``) run once
    per frame as it arrives, the others (``FormatShape``, ``PackActionInputs``,
    ...) once per window. The result equals the test pipeline's for a chunk
    of the same range of the same video.

    Args:
        pipeline (Sequence[dict]): The test pipeline's configs.
        window_length (int, optional): Frames of a window. Defaults to
            ``clip_len * frame_interval * num_clips`` of the sampling step
            (one clip's span for single-clip testing).

    Raises:
        ModelConfigError: No sampling or decode step, or another decoder.
    """

    def __init__(self,
                 pipeline: Sequence[Dict],
                 window_length: Optional[int] = None) -> None:
        from mmaction.registry import TRANSFORMS
        from mmengine.dataset import Compose

        import qd_plugin.datasets  # noqa: F401  (SampleChunkFrames)
        steps = [copy.deepcopy(dict(step)) for step in pipeline]
        types = [step.get('type') for step in steps]
        self.pipeline = steps
        sampling = _index_of(types, SAMPLING_STEPS, 'frame-sampling')
        decode = _index_of(types, tuple(DECODE_STEPS) + ('PyAVDecode',
                                                         'ClipCacheDecode'),
                           'video-decoding')
        if types[decode] not in DECODE_STEPS:
            raise ModelConfigError(
                f'the test pipeline decodes with {types[decode]}; a stream '
                f'reproduces {" or ".join(DECODE_STEPS)} only')
        between = types[sampling + 1:decode]
        if decode < sampling or between:
            raise ModelConfigError(
                'expected the frame sampling step right before the decode '
                f'step in the test pipeline, got {types}')
        self.decoder = DECODE_STEPS[types[decode]]
        sampler_cfg = dict(steps[sampling], type='SampleChunkFrames')
        self.sampler = TRANSFORMS.build(sampler_cfg)
        self.clip_len = int(self.sampler.clip_len)
        self.frame_interval = int(self.sampler.frame_interval)
        self.num_clips = int(self.sampler.num_clips)
        self.window_length = int(window_length or self.clip_len *
                                 self.frame_interval * self.num_clips)
        after = steps[decode + 1:]
        framewise = 0
        while framewise < len(after) and _is_framewise(after[framewise]):
            framewise += 1
        self.framewise_steps = after[:framewise]
        self.window_steps = after[framewise:]
        self._framewise = Compose(
            [TRANSFORMS.build(step) for step in self.framewise_steps])
        self._window = Compose(
            [TRANSFORMS.build(step) for step in self.window_steps])
        # Steps other than FormatShape could change frames in place: give
        # them copies, the same frame is in several windows.
        self._copy_frames = bool(self.window_steps) and \
            self.window_steps[0].get('type') != 'FormatShape'

    def frame_inds(self,
                   start: int,
                   total_frames: Optional[int] = None,
                   end: Optional[int] = None) -> np.ndarray:
        """Frame indices of the window starting at ``start``: the sampling
        step's for the chunk ``[start, end)`` (``end`` defaults to
        ``start + window_length``)."""
        end = start + self.window_length if end is None else end
        results = dict(
            frame_start=start,
            frame_end=end,
            total_frames=total_frames or end,
            start_index=0,
            modality='RGB')
        return self.sampler.transform(results)['frame_inds']

    def preprocess_frame(self, frame: np.ndarray) -> Tuple[np.ndarray, Dict]:
        """Apply the frame-wise steps to one decoded frame.

        Returns:
            tuple: The frame and what the steps record (``img_shape``,
            ``scale_factor``, ``crop_bbox``, ...).
        """
        results = self._framewise(
            dict(
                imgs=[frame],
                original_shape=frame.shape[:2],
                img_shape=frame.shape[:2],
                modality='RGB'))
        return results.pop('imgs')[0], results

    def pack(self,
             frame_of: Callable[[int], Tuple[np.ndarray, Dict]],
             start: int,
             total_frames: Optional[int] = None,
             end: Optional[int] = None) -> Dict:
        """The window's packed sample (``inputs``, ``data_samples``).

        Args:
            frame_of (Callable): Frame index -> what
                :meth:`preprocess_frame` gave for that frame.
            start (int): The window's first frame.
            total_frames (int, optional): The stream's length, where known.
            end (int, optional): One past its last frame; defaults to
                ``start + window_length``.
        """
        end = start + self.window_length if end is None else end
        inds = self.frame_inds(start, total_frames, end)
        frames, metas = zip(*(frame_of(int(i)) for i in inds))
        imgs = [f.copy() for f in frames] if self._copy_frames else \
            list(frames)
        results = dict(
            metas[0],
            imgs=imgs,
            frame_inds=inds,
            clip_len=self.clip_len,
            frame_interval=self.frame_interval,
            num_clips=self.num_clips,
            frame_start=start,
            frame_end=end,
            start_index=0,
            modality='RGB')
        if total_frames is not None:
            results['total_frames'] = total_frames
        return self._window(results)

    def describe(self) -> Dict:
        """The window's settings, for timelines and reports."""
        return dict(
            clip_len=self.clip_len,
            frame_interval=self.frame_interval,
            num_clips=self.num_clips,
            length=self.window_length,
            decoder=self.decoder,
            framewise_steps=[s['type'] for s in self.framewise_steps],
            window_steps=[s['type'] for s in self.window_steps])


def _index_of(types: List[str], names: Tuple[str, ...], what: str) -> int:
    found = [i for i, t in enumerate(types) if t in names]
    if not found:
        raise ModelConfigError(
            f'the test pipeline has no {what} step ({" or ".join(names)}): '
            f'{types}')
    return found[0]


def _is_framewise(step: Dict) -> bool:
    return step.get('type') in FRAMEWISE_STEPS and not step.get('lazy')
