"""Run a recognizer's stream over the long recordings of a split and score
it against their chunk annotations."""
import os.path as osp
from typing import Dict, Optional

from ..datasets.driveact_layout import split_file_path
from ..evaluation.stream_evaluation import (StreamEvaluation,
                                            read_annotated_segments)
from .stream_recognizer import StreamRecognizer


def split_of(recognizer: StreamRecognizer) -> Dict:
    """The test split the model's config names: ``ann_root``,
    ``video_root``, ``split``, ``subset`` and ``view``."""
    dataset = (recognizer.model_cfg.get('test_dataloader') or {}).get(
        'dataset', {})
    views = dataset.get('views', 'inner_mirror')
    return dict(
        ann_root=dataset.get('ann_root'),
        video_root=(dataset.get('data_prefix') or {}).get('video', ''),
        split=dataset.get('split', 0),
        subset=dataset.get('subset', 'test'),
        view=views if isinstance(views, str) else views[0])


def evaluate_recordings(recognizer: StreamRecognizer,
                        ann_root: Optional[str] = None,
                        video_root: Optional[str] = None,
                        split: Optional[int] = None,
                        subset: Optional[str] = None,
                        view: Optional[str] = None,
                        hop: Optional[int] = None,
                        smooth: int = 1,
                        low_confidence: float = 0.5,
                        max_recordings: Optional[int] = None,
                        show_progress: bool = False) -> Dict:
    """Stream every long recording of a split through ``recognizer`` and
    score the windows (see :class:`StreamEvaluation`).

    Unset arguments come from the model config's test dataset (see
    :func:`split_of`).

    Args:
        recognizer (StreamRecognizer): The model.
        ann_root, video_root (str, optional): Drive&Act annotation and
            video roots.
        split (int, optional), subset (str, optional), view (str, optional):
            Which split file.
        hop (int, optional): Frames between windows; default half a window.
        smooth (int): Windows averaged for the judged label.
        low_confidence (float): Top-1 score below which a window is unsure.
        max_recordings (int, optional): Only the first so many recordings.
        show_progress (bool): A progress bar over recordings.

    Returns:
        dict: :meth:`StreamEvaluation.results`, with the split, the
        window settings and the real-time factor over all recordings.

    Raises:
        FileNotFoundError: The split file does not exist.
    """
    defaults = split_of(recognizer)
    ann_root = ann_root or defaults['ann_root']
    video_root = defaults['video_root'] if video_root is None else video_root
    split = defaults['split'] if split is None else split
    subset = subset or defaults['subset']
    view = view or defaults['view']
    if not ann_root:
        raise ValueError('no annotation root: pass ann_root (--ann-root)')
    ann_file = split_file_path(ann_root, view, split, subset)
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'split file not found: {ann_file}')
    recordings = list(read_annotated_segments(ann_file, video_root).items())
    if max_recordings is not None:
        recordings = recordings[:max_recordings]
    evaluation = StreamEvaluation(recognizer.classes, low_confidence)
    progress = None
    if show_progress:
        from mmengine.utils import ProgressBar
        progress = ProgressBar(len(recordings))
    frames = wall = 0.0
    fps = None
    used_hop = None
    for video, segments in recordings:
        with recognizer.open_stream(video, hop=hop, smooth=smooth) as stream:
            windows = list(stream)
            summary = stream.summary()
        used_hop = stream.hop
        evaluation.add(windows, segments)
        frames += summary['frames']
        wall += summary['wall_seconds']
        fps = fps or summary['fps']
        if progress is not None:
            progress.update()
    results = evaluation.results()
    results.update(
        ann_file=ann_file,
        model=recognizer.model_file,
        runtime=recognizer.kind,
        window_length=recognizer.window_length,
        hop=used_hop,
        smooth=smooth,
        frames=int(frames),
        real_time_factor=(frames / fps / wall if fps and wall else None))
    return results
