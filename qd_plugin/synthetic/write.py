"""Writing a synthetic dataset: videos, split files and the parameter file."""
import csv
import json
import os
import os.path as osp
import shutil
from typing import Dict, Iterator, List, Sequence, Tuple

import cv2
import numpy as np

from ..datasets.driveact_classes import DRIVEACT_CSV_COLUMNS
from ..datasets.driveact_layout import (ANNOTATION_DIR, SUBSETS, VIDEO_DIR,
                                        split_file_path)
from .motion import build_scene_timeline
from .plan import Recording, chunk_ranges
from .render import render_view

MARKER_FILE = 'synthetic_driveact.json'
Splits = Dict[int, Dict[str, List[int]]]


class SyntheticDataExistsError(FileExistsError):
    """``out_dir`` already holds synthetic data and may not be replaced.

    Args:
        out_dir (str): The output folder.
        existing (Sequence[str]): What it holds.
    """

    def __init__(self, out_dir: str, existing: Sequence[str]) -> None:
        self.out_dir = out_dir
        self.existing = tuple(existing)
        super().__init__(f'{self.holding()}; pass overwrite=True to replace '
                         'it')

    def holding(self) -> str:
        """What is in the way, without the advice."""
        return f'{self.out_dir} already holds data ({", ".join(self.existing)})'


def prepare_out_dir(out_dir: str, overwrite: bool, params: dict) -> None:
    """Make ``out_dir`` ready, removing earlier synthetic data if allowed.

    Raises:
        SyntheticDataExistsError: ``out_dir`` holds data and ``overwrite`` is
            False.
        FileExistsError: ``out_dir`` holds data this generator did not write.
    """
    owned = [VIDEO_DIR, ANNOTATION_DIR, MARKER_FILE]
    existing = [name for name in owned if osp.lexists(osp.join(out_dir, name))]
    if existing:
        if not overwrite:
            raise SyntheticDataExistsError(out_dir, existing)
        if not osp.isfile(osp.join(out_dir, MARKER_FILE)):
            raise FileExistsError(
                f'{out_dir} holds {", ".join(existing)} but no {MARKER_FILE}: '
                'it was not written by this generator (it may be the real '
                'Drive&Act data), so it is not replaced even with overwrite')
        for name in existing:
            path = osp.join(out_dir, name)
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    os.makedirs(out_dir, exist_ok=True)
    # Written first so that a half-written dataset can still be overwritten.
    write_marker(out_dir, params, complete=False)


def write_marker(out_dir: str, params: dict, complete: bool) -> None:
    """Record the generation parameters (and whether it finished)."""
    with open(osp.join(out_dir, MARKER_FILE), 'w') as f:
        json.dump(dict(generator='qd_plugin.synthetic', complete=complete,
                       **params), f, indent=2)
        f.write('\n')


def write_recording(recording: Recording, video_root: str,
                    views: Sequence[str], frame_size: Tuple[int, int],
                    fps: int, verify: bool) -> List[str]:
    """Render one recording from every view and write its videos.

    Args:
        recording (Recording): The recording.
        video_root (str): The ``videos`` folder.
        views (Sequence[str]): Camera views.
        frame_size (tuple[int, int]): ``(height, width)``.
        fps (int): Frame rate.
        verify (bool): Decode each video's length with decord afterwards.

    Returns:
        list[str]: The paths written, one per view.
    """
    timeline = build_scene_timeline(recording, frame_size, fps)
    paths = []
    for view_index, view in enumerate(views):
        path = osp.join(video_root, recording.file_id(view) + '.mp4')
        noise_rng = np.random.default_rng([recording.seed, 1, view_index])
        frames = render_view(recording.participant, timeline, view,
                             frame_size, noise_rng)
        _write_video(path, frames, fps, frame_size)
        if verify:
            _verify_video(path, recording.num_frames)
        paths.append(path)
    return paths


def _write_video(path: str, frames: Iterator[np.ndarray], fps: int,
                 frame_size: Tuple[int, int]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    height, width = frame_size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'cv2.VideoWriter cannot write {path} with mp4v')
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()


def _verify_video(path: str, num_frames: int) -> None:
    import decord
    decoded = len(decord.VideoReader(path, num_threads=1))
    if decoded != num_frames:
        raise RuntimeError(f'{path}: wrote {num_frames} frames but decord '
                           f'reads {decoded}')


def _chunk_rows(recording: Recording, view: str,
                chunk_len: int) -> Iterator[dict]:
    for segment in recording.segments:
        ranges = chunk_ranges(segment.frame_start, segment.frame_end,
                              chunk_len)
        for chunk_id, (frame_start, frame_end) in enumerate(ranges):
            yield dict(
                participant_id=recording.participant.participant_id,
                file_id=recording.file_id(view),
                annotation_id=segment.annotation_id,
                frame_start=frame_start,
                frame_end=frame_end,
                activity=segment.activity,
                chunk_id=chunk_id)


def write_split_files(ann_root: str, view: str,
                      recordings: Sequence[Recording], splits: Splits,
                      chunk_len: int) -> Dict[int, Dict[str, str]]:
    """Write the nine split files of one view; return their paths."""
    paths: Dict[int, Dict[str, str]] = {}
    for split, subsets in splits.items():
        paths[split] = {}
        for subset in SUBSETS:
            path = split_file_path(ann_root, view, split, subset)
            os.makedirs(osp.dirname(path), exist_ok=True)
            members = set(subsets[subset])
            with open(path, 'w', newline='') as f:
                writer = csv.DictWriter(
                    f, fieldnames=DRIVEACT_CSV_COLUMNS, lineterminator='\n')
                writer.writeheader()
                for recording in recordings:
                    if recording.participant.participant_id in members:
                        writer.writerows(
                            _chunk_rows(recording, view, chunk_len))
            paths[split][subset] = path
    return paths


def count_chunks(recordings: Sequence[Recording], splits: Splits,
                 chunk_len: int) -> Dict[int, Dict[str, int]]:
    """Chunks per split and subset (one view)."""
    chunks_of: Dict[int, int] = {}
    for recording in recordings:
        participant_id = recording.participant.participant_id
        chunks_of[participant_id] = chunks_of.get(participant_id, 0) + sum(
            len(chunk_ranges(s.frame_start, s.frame_end, chunk_len))
            for s in recording.segments)
    return {
        split: {
            subset: sum(chunks_of[p] for p in members)
            for subset, members in subsets.items()
        }
        for split, subsets in splits.items()
    }
