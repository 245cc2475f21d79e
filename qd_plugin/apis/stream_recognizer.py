from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..deploy.runtimes import Runtime
from .array_source import ArraySource
from .camera_source import CameraSource
from .clip_prediction import ClipPrediction
from .frame_normalizer import FrameNormalizer
from .frame_source import FrameSource
from .stream_pipeline import StreamPipeline
from .video_source import VideoSource
from .window_prediction import WindowPrediction
from .window_stream import WindowStream

#: What a clip or a stream can be given as: a video path, a camera index,
#: frames in memory ((T, H, W, 3) uint8 RGB, a list or an iterable of
#: (H, W, 3) frames) or a :class:`FrameSource`.
Source = Union[str, int, np.ndarray, Sequence[np.ndarray], FrameSource]


class StreamRecognizer:
    """A recognizer fed as its test pipeline feeds it, for clips and streams.

    Made by :func:`~qd_plugin.apis.load_recognizer` from what the plugin
    produces (an MMDeploy work dir, the int8 TorchScript of
    ``tools/test.py``, a config and checkpoint). The input of a clip or of a
    window is exactly what the config's test pipeline
    (``test_dataloader.dataset.pipeline``) and the model's data preprocessor
    make of the same frame range of the same video (see
    :class:`StreamPipeline`); ``runtime`` maps it to class scores.

    Args:
        runtime (Runtime): Preprocessed clips (N, num_clips, C, T, H, W) ->
            class scores (N, num_classes).
        model_cfg (Config): The model's config (its test pipeline, data
            preprocessor, classes).
        classes (Sequence[str]): Class names, in output order.
        data_preprocessor (nn.Module): The model's data preprocessor.
        model_file (str): What was loaded, for reports.
        kind (str): How it runs, e.g. ``'openvino'``, ``'torchscript'``.
        window_length (int, optional): Frames per window; see
            :class:`StreamPipeline`.
    """

    def __init__(self,
                 runtime: Runtime,
                 model_cfg: Config,
                 classes: Sequence[str],
                 data_preprocessor: torch.nn.Module,
                 model_file: str = '',
                 kind: str = '',
                 window_length: Optional[int] = None) -> None:
        self.runtime = runtime
        self.model_cfg = model_cfg
        self.classes = list(classes)
        self.data_preprocessor = data_preprocessor.eval()
        self.model_file = model_file
        self.kind = kind or runtime.name
        self.pipeline = StreamPipeline(test_pipeline_of(model_cfg),
                                       window_length)
        #: Streams normalise each frame once in the reader thread where this
        #: gives the preprocessor's numbers (see FrameNormalizer); None:
        #: each window is packed and preprocessed.
        self.frame_normalizer = FrameNormalizer.from_recognizer(
            self.data_preprocessor, self.pipeline.window_steps,
            self.pipeline.num_clips, self.pipeline.clip_len)

    @property
    def window_length(self) -> int:
        return self.pipeline.window_length

    # ------------------------------------------------------------- inputs
    def preprocess(self, packed: Sequence[Dict]) -> torch.Tensor:
        """Collate packed samples and apply the data preprocessor:
        the model's input, (N, num_clips, C, T, H, W) float."""
        from mmengine.dataset import pseudo_collate
        with torch.no_grad():
            data = self.data_preprocessor(pseudo_collate(list(packed)), False)
        return data['inputs']

    def predict(self, inputs: torch.Tensor) -> np.ndarray:
        """Class scores (N, num_classes) of model inputs."""
        scores = self.runtime.run_batched(
            np.ascontiguousarray(inputs.cpu().numpy(), dtype=np.float32))
        if scores.shape[-1] != len(self.classes):
            raise ValueError(
                f'{self.model_file} gives {scores.shape[-1]} class scores, '
                f'its config names {len(self.classes)} classes')
        return scores

    def clip_inputs(self,
                    clip: Union[Source, List[Source]],
                    frame_range: Optional[Tuple[int, int]] = None
                    ) -> torch.Tensor:
        """The model input of a clip: (num_views, num_clips, C, T, H, W).

        Args:
            clip: A video path, frames in memory, or a list of those (one per
                view, frame-synchronised).
            frame_range (tuple[int, int], optional): ``[start, end)`` of the
                clip in the video (or in the frames given); the whole of it
                by default. Frames are sampled in it as the test pipeline
                samples a chunk.
        """
        views = clip if _is_view_list(clip) else [clip]
        packed = [self._pack_clip(view, frame_range) for view in views]
        return self.preprocess(packed)

    def _pack_clip(self, clip: Source,
                   frame_range: Optional[Tuple[int, int]]) -> Dict:
        source = self.open_source(clip)
        try:
            total = source.num_frames
            if frame_range is None:
                if total is None:
                    frames = list(source)
                    source, total = ArraySource(frames), len(frames)
                frame_range = (0, total)
            start, end = (int(v) for v in frame_range)
            if end <= start or start < 0 or (total is not None
                                             and end > total):
                raise ValueError(
                    f'frame range [{start}, {end}) is not inside the '
                    f'{total} frames of {source.name}')
            inds = self.pipeline.frame_inds(start, total, end)
            wanted = sorted({int(i) for i in inds})
            if source.live:
                raise ValueError('classify_clip needs frames with random '
                                 'access; stream a camera instead')
            frames = dict(zip(wanted, source.read(wanted)))
            processed = {
                i: self.pipeline.preprocess_frame(frame)
                for i, frame in frames.items()
            }
            return self.pipeline.pack(processed.__getitem__, start, total,
                                      end)
        finally:
            source.close()

    # ---------------------------------------------------------- predictions
    def classify_clip(self,
                      clip: Union[Source, List[Source]],
                      frame_range: Optional[Tuple[int, int]] = None,
                      topk: int = 5) -> ClipPrediction:
        """Classify one clip (of one or several views, batched).

        Args:
            clip: See :meth:`clip_inputs`.
            frame_range (tuple[int, int], optional): See :meth:`clip_inputs`.
            topk (int): Classes to keep. Defaults to 5.

        Returns:
            ClipPrediction: Top-k labels and scores; with several views, of
            the mean class scores, each view's in ``view_scores``.
        """
        scores = self.predict(self.clip_inputs(clip, frame_range))
        return ClipPrediction.from_scores(scores, self.classes,
                                          min(topk, len(self.classes)))

    def open_stream(self,
                    source: Union[Source, List[Source]],
                    hop: Optional[int] = None,
                    topk: int = 5,
                    smooth: int = 1,
                    keep_frames: bool = False,
                    fps: Optional[float] = None,
                    max_frames: Optional[int] = None) -> WindowStream:
        """A :class:`WindowStream` over a video, a camera, frames in memory
        or several synchronised views (a list of those, batched).

        Args:
            source: A video path, a camera index, frames, a FrameSource, or a
                list of those (views).
            hop (int, optional): Frames between windows; default half a
                window.
            topk (int): Classes kept per window.
            smooth (int): Windows averaged for the smoothed label.
            keep_frames (bool): Hold decoded frames for the caller (see
                :meth:`WindowStream.frame`).
            fps (float, optional): Frame rate of sources that do not say.
            max_frames (int, optional): Stop a camera after so many frames.
        """
        views = source if _is_view_list(source) else [source]
        sources = [
            self.open_source(view, fps=fps, max_frames=max_frames)
            for view in views
        ]
        return WindowStream(self, sources, hop, topk, smooth, keep_frames)

    def classify_stream(self,
                        source: Union[Source, List[Source]],
                        hop: Optional[int] = None,
                        topk: int = 5,
                        smooth: int = 1,
                        **kwargs: Any) -> List[WindowPrediction]:
        """Every window's prediction of a finite stream: (start frame, end
        frame, top-k labels, scores, ...). See :meth:`open_stream`."""
        with self.open_stream(source, hop, topk, smooth, **kwargs) as stream:
            return list(stream)

    def open_source(self,
                    source: Source,
                    fps: Optional[float] = None,
                    max_frames: Optional[int] = None) -> FrameSource:
        """A :class:`FrameSource` for a video path (decoded with the test
        pipeline's decoder), a camera index or frames in memory."""
        if isinstance(source, FrameSource):
            return source
        if isinstance(source, (int, np.integer)) and not isinstance(
                source, bool):
            return CameraSource(int(source), fps, max_frames)
        if isinstance(source, str):
            return VideoSource(source, backend=self.pipeline.decoder)
        return ArraySource(source, fps)

    def describe(self) -> Dict:
        """What runs and how it is fed, for timelines and reports."""
        return dict(
            model=self.model_file,
            runtime=self.kind,
            config=getattr(self.model_cfg, 'filename', None),
            num_classes=len(self.classes),
            window=self.pipeline.describe())


def test_pipeline_of(model_cfg: Config) -> List[Dict]:
    """The test pipeline ``tools/test.py`` runs: the test dataset's
    (``test_pipeline`` if the config has no test dataloader)."""
    loader = model_cfg.get('test_dataloader')
    if loader and loader.get('dataset', {}).get('pipeline'):
        return list(loader['dataset']['pipeline'])
    if model_cfg.get('test_pipeline'):
        return list(model_cfg.test_pipeline)
    from .errors import ModelConfigError
    raise ModelConfigError(
        f'{getattr(model_cfg, "filename", "the config")} has no test '
        'pipeline (test_dataloader.dataset.pipeline)')


def _is_view_list(source: Any) -> bool:
    """A list of sources (views) rather than one view's frames."""
    if not isinstance(source, (list, tuple)) or not source:
        return False
    first = source[0]
    if isinstance(first, np.ndarray):
        return first.ndim == 4
    return isinstance(first, (str, int, FrameSource, list, tuple))
