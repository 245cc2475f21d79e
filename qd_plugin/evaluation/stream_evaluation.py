"""Score the per-window labels of a stream against the chunk annotations of
its recording."""
import bisect
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..datasets.driveact_classes import DRIVEACT_CSV_COLUMNS
from ..datasets.split_csv import check_file_id, read_split_rows
from .bootstrap import mean_class_accuracy


@dataclass
class AnnotatedSegment:
    """An annotated activity of a recording: consecutive chunks of one
    annotation, ``[start, end)`` in frames."""

    start: int
    end: int
    label: str
    where: str  # file and line of its first chunk, for messages


def read_annotated_segments(ann_file: str, video_root: str,
                            suffix: str = '.mp4'
                            ) -> 'OrderedDict[str, List[AnnotatedSegment]]':
    """The annotated segments of each recording of a split file, by video
    path (in the file's order): the chunks of one ``annotation_id`` that
    follow each other merged into one segment.

    Raises:
        ValueError: A row with a bad ``file_id`` or frame range (names the
            file and line).
    """
    recordings: 'OrderedDict[str, List[AnnotatedSegment]]' = OrderedDict()
    last: Dict[str, tuple] = {}
    for line, row in read_split_rows(ann_file, DRIVEACT_CSV_COLUMNS):
        where = f'{ann_file}, line {line}'
        check_file_id(row['file_id'], where)
        try:
            start, end = int(row['frame_start']), int(row['frame_end'])
        except ValueError:
            raise ValueError(f'{where}: frame_start/frame_end must be '
                             'integers') from None
        if not 0 <= start < end:
            raise ValueError(f'{where}: empty frame range [{start}, {end})')
        video = osp.join(video_root, row['file_id'] + suffix)
        segments = recordings.setdefault(video, [])
        key = (row['annotation_id'], row['activity'])
        if segments and last.get(video) == key and \
                segments[-1].end == start:
            segments[-1].end = end
        else:
            segments.append(AnnotatedSegment(start, end, row['activity'],
                                             where))
        last[video] = key
    return recordings


class StreamEvaluation:
    """Per-window labels of streams judged against the annotations.

    A window inside an annotated segment is scored against its label (the
    mean per-class accuracy over the classes of those windows, the Drive&Act
    metric). A window at least ``unannotated_share`` of whose frames are
    outside every annotated segment is in unannotated time, where a
    deployed model should say it is unsure: the share of those with a top-1
    score below ``low_confidence`` is reported. Other windows straddle a
    boundary and are only counted. The label judged is the one
    shown (``smoothed_label_id``, the top-1 without smoothing).

    Args:
        classes (Sequence[str]): The model's class names, in output order.
        low_confidence (float): Top-1 score below which a window is flagged
            as unsure. Defaults to 0.5.
        unannotated_share (float): Share of a window's frames outside the
            annotations that puts it in unannotated time. Defaults to 0.5
            (gaps between activities are often shorter than a window).
    """

    def __init__(self,
                 classes: Sequence[str],
                 low_confidence: float = 0.5,
                 unannotated_share: float = 0.5) -> None:
        self.classes = list(classes)
        self.low_confidence = low_confidence
        self.unannotated_share = unannotated_share
        self.labels: List[int] = []
        self.preds: List[int] = []
        self.annotated_scores: List[float] = []
        self.unannotated_scores: List[float] = []
        self.straddling = 0
        self.recordings = 0

    def add(self, windows: Sequence, segments: Sequence[AnnotatedSegment]
            ) -> None:
        """Score the windows of one recording.

        Args:
            windows (Sequence[WindowPrediction]): Its windows.
            segments (Sequence[AnnotatedSegment]): Its annotations.

        Raises:
            ValueError: An annotated activity the model has no class for.
        """
        segments = sorted(segments, key=lambda s: s.start)
        starts = [s.start for s in segments]
        for segment in segments:
            if segment.label not in self.classes:
                raise ValueError(
                    f'{segment.where}: activity {segment.label!r} is not a '
                    f'class of the model ({len(self.classes)} classes)')
        self.recordings += 1
        for window in windows:
            label_id, score = _shown(window)
            begin, end = window.start_frame, window.end_frame
            # Segments that may overlap: those starting before the end.
            last = bisect.bisect_left(starts, end)
            overlapping = [s for s in segments[:last] if s.end > begin]
            covered = sum(
                min(end, s.end) - max(begin, s.start) for s in overlapping)
            if end - begin - covered >= self.unannotated_share * (end -
                                                                   begin):
                self.unannotated_scores.append(score)
            elif len(overlapping) == 1 and overlapping[0].start <= begin \
                    and end <= overlapping[0].end:
                self.labels.append(self.classes.index(overlapping[0].label))
                self.preds.append(label_id)
                self.annotated_scores.append(score)
            else:
                self.straddling += 1

    def results(self) -> Dict:
        """The scores (accuracies as fractions), JSON-serialisable."""
        labels, preds = np.asarray(self.labels), np.asarray(self.preds)
        per_class = OrderedDict(
            (self.classes[c], float(np.mean(preds[labels == c] == c)))
            for c in sorted(set(self.labels)))
        unannotated = np.asarray(self.unannotated_scores)
        return dict(
            recordings=self.recordings,
            annotated_windows=len(self.labels),
            unannotated_windows=int(unannotated.size),
            straddling_windows=self.straddling,
            mean_class_accuracy=(mean_class_accuracy(labels, preds)
                                 if len(labels) else None),
            top1_accuracy=(float(np.mean(labels == preds))
                           if len(labels) else None),
            per_class_accuracy=per_class,
            low_confidence=self.low_confidence,
            unannotated_share=self.unannotated_share,
            unannotated_low_confidence_share=(
                float(np.mean(unannotated < self.low_confidence))
                if unannotated.size else None),
            annotated_low_confidence_share=(
                float(np.mean(np.asarray(self.annotated_scores) <
                              self.low_confidence))
                if self.annotated_scores else None),
            mean_score_annotated=_mean(self.annotated_scores),
            mean_score_unannotated=_mean(self.unannotated_scores))


def _shown(window) -> tuple:
    """(label id, score) a window shows: smoothed where smoothing."""
    if getattr(window, 'smoothed_label_id', -1) >= 0:
        return window.smoothed_label_id, float(window.smoothed_score)
    return window.label_ids[0], float(window.scores[0])


def _mean(values: Sequence[float]) -> Optional[float]:
    return float(np.mean(values)) if len(values) else None
