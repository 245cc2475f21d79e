"""``make_synthetic_driveact``: a synthetic Drive&Act in the release layout."""
import math
import os.path as osp
from functools import partial
from multiprocessing import get_context
from typing import Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import ProgressBar

from ..datasets.driveact_layout import ANNOTATION_DIR, SUBSETS, VIDEO_DIR
from .activities import ACTIVITIES, synthetic_classes
from .plan import (assign_participants_to_splits, plan_recordings,
                   sample_participant)
from .render import VIEW_GEOMETRY
from .write import (count_chunks, prepare_out_dir, write_marker,
                    write_recording, write_split_files)

# Segments of each class per participant, by default.
SEGMENTS_PER_CLASS = 20


def make_synthetic_driveact(out_dir: str,
                            num_classes: int = 8,
                            classes: Optional[Sequence[str]] = None,
                            num_participants: int = 15,
                            recordings_per_participant: int = 2,
                            segments_per_recording: Optional[int] = None,
                            frame_size: Tuple[int, int] = (48, 60),
                            fps: int = 30,
                            chunk_len: int = 48,
                            views: Sequence[str] = ('inner_mirror', ),
                            seed: int = 0,
                            overwrite: bool = False,
                            verify_videos: bool = True,
                            workers: int = 1,
                            show_progress: bool = False) -> dict:
    """Write a synthetic Drive&Act dataset to ``out_dir``.

    Writes, in the layout of the release::

        <out_dir>/videos/vp<P>/run<R>b_<date>.<view suffix>.mp4
        <out_dir>/activities_3s/<view>/midlevel.chunks_90.split_<N>.<subset>.csv
        <out_dir>/synthetic_driveact.json   (the generation parameters)

    Participants ``vp1 .. vp<num_participants>`` are dealt to train/val/test
    in Drive&Act's proportions (10/2/3 of 15) and rotated over the three
    splits; every participant performs every class, so every class is in
    every subset of every split. The activities and how they are performed
    are described in :mod:`qd_plugin.synthetic.activities`. The split files
    keep the name ``chunks_90`` whatever ``chunk_len`` is.

    Args:
        out_dir (str): Where to write ``videos/``, ``activities_3s/`` and
            the parameter file.
        num_classes (int): Number of classes, 1 to 34: the first ones of
            :data:`CLASS_ORDER`. Defaults to 8.
        classes (Sequence[str], optional): The activities by name (Drive&Act
            midlevel class names), instead of ``num_classes``.
        num_participants (int): At least 3. Defaults to 15.
        recordings_per_participant (int): Defaults to 2.
        segments_per_recording (int, optional): Activity segments per
            recording. Defaults to enough for every class to appear
            ``SEGMENTS_PER_CLASS`` (20) times per participant: with the other
            defaults, about 2800/560/840 train/val/test chunks. Must give each
            participant every class.
        frame_size (tuple[int, int]): ``(height, width)``, both even and at
            least 16. Defaults to ``(48, 60)``.
        fps (int): Frame rate of the videos; periods of the motions are in
            seconds. Defaults to 30.
        chunk_len (int): Most frames of an annotated chunk, at least 8.
            Defaults to 48.
        views (Sequence[str]): Camera views to render; each gets its own
            videos and split files. Defaults to ``('inner_mirror', )``.
        seed (int): The same seed writes the same data. Defaults to 0.
        overwrite (bool): Replace data that a previous call wrote to
            ``out_dir``. Data this function did not write is never removed.
            Defaults to False.
        verify_videos (bool): Decode every video's length with decord after
            writing it. Defaults to True.
        workers (int): Processes rendering recordings in parallel; the data
            does not depend on it. Defaults to 1.
        show_progress (bool): Show a progress bar over recordings.
            Defaults to False.

    Returns:
        dict: ``out_dir``, ``video_root``, ``ann_root``, ``classes``,
        ``views``, ``participants`` (``{split: {subset: [ids]}}``),
        ``ann_files`` (``{view: {split: {subset: path}}}``), ``videos``
        (paths), ``num_frames`` (all videos of one view), ``num_segments``
        and ``num_chunks`` (``{split: {subset: count}}``, one view).

    Raises:
        ValueError: Invalid sizes or views.
        FileExistsError: ``out_dir`` already holds data and ``overwrite`` is
            False, or it holds data this function did not write.
    """
    views = tuple(views)
    classes = check_classes(classes) if classes else synthetic_classes(
        num_classes)
    num_classes = len(classes)
    if segments_per_recording is None:
        segments_per_recording = math.ceil(
            SEGMENTS_PER_CLASS * num_classes / recordings_per_participant)
    check_arguments(num_classes, num_participants, recordings_per_participant,
                    segments_per_recording, frame_size, fps, chunk_len, views,
                    workers)
    params = dict(
        classes=list(classes),
        num_participants=num_participants,
        recordings_per_participant=recordings_per_participant,
        segments_per_recording=segments_per_recording,
        frame_size=list(frame_size),
        fps=fps,
        chunk_len=chunk_len,
        views=list(views),
        seed=seed)
    prepare_out_dir(out_dir, overwrite, params)

    split_seed, appearance_seed, plan_seed = np.random.SeedSequence(
        seed).spawn(3)
    participant_ids = list(range(1, num_participants + 1))
    splits = assign_participants_to_splits(
        participant_ids, np.random.default_rng(split_seed))
    aspect = frame_size[1] / frame_size[0]
    participants = [
        sample_participant(pid, aspect, np.random.default_rng(s)) for pid, s
        in zip(participant_ids, appearance_seed.spawn(num_participants))
    ]
    recordings = plan_recordings(participants, classes,
                                 recordings_per_participant,
                                 segments_per_recording, chunk_len, plan_seed)

    video_root = osp.join(out_dir, VIDEO_DIR)
    write = partial(write_recording, video_root=video_root, views=views,
                    frame_size=frame_size, fps=fps, verify=verify_videos)
    progress = ProgressBar(len(recordings)) if show_progress else None
    videos = []
    if workers > 1:
        with get_context('fork').Pool(workers) as pool:
            for paths in pool.imap(write, recordings):
                videos.extend(paths)
                progress and progress.update()
    else:
        for recording in recordings:
            videos.extend(write(recording))
            progress and progress.update()
    ann_root = osp.join(out_dir, ANNOTATION_DIR)
    ann_files = {
        view: write_split_files(ann_root, view, recordings, splits, chunk_len)
        for view in views
    }
    write_marker(out_dir, params, complete=True)
    return dict(
        out_dir=out_dir,
        video_root=video_root,
        ann_root=ann_root,
        classes=classes,
        views=views,
        participants=splits,
        ann_files=ann_files,
        videos=videos,
        num_frames=sum(r.num_frames for r in recordings),
        num_segments=sum(len(r.segments) for r in recordings),
        num_chunks=count_chunks(recordings, splits, chunk_len))


def check_classes(classes: Sequence[str]) -> Tuple[str, ...]:
    """``classes`` as a tuple; ``ValueError`` for unknown or repeated ones."""
    classes = tuple(classes)
    unknown = [name for name in classes if name not in ACTIVITIES]
    if unknown:
        raise ValueError(f'unknown activities {unknown}; expected Drive&Act '
                         f'midlevel classes: {sorted(ACTIVITIES)}')
    if len(set(classes)) != len(classes):
        raise ValueError(f'classes must be distinct, got {list(classes)}')
    return classes


def check_arguments(num_classes: int, num_participants: int,
                    recordings_per_participant: int,
                    segments_per_recording: int, frame_size: Tuple[int, int],
                    fps: int, chunk_len: int, views: Tuple[str, ...],
                    workers: int) -> None:
    """Raise ``ValueError`` naming the first invalid argument."""
    if num_participants < len(SUBSETS):
        raise ValueError('num_participants must be at least 3 (one per '
                         f'subset), got {num_participants}')
    if recordings_per_participant < 1:
        raise ValueError('recordings_per_participant must be at least 1, '
                         f'got {recordings_per_participant}')
    if recordings_per_participant * segments_per_recording < num_classes:
        raise ValueError(
            f'{recordings_per_participant} recording(s) x '
            f'{segments_per_recording} segment(s) per participant cannot hold '
            f'all {num_classes} classes; every participant needs every class '
            'for every class to be in every subset')
    height, width = frame_size
    if height < 16 or width < 16 or height % 2 or width % 2:
        raise ValueError(f'frame_size must be even and at least 16, '
                         f'got {tuple(frame_size)}')
    if fps < 1:
        raise ValueError(f'fps must be positive, got {fps}')
    if chunk_len < 8:
        raise ValueError(f'chunk_len must be at least 8, got {chunk_len}')
    if workers < 1:
        raise ValueError(f'workers must be at least 1, got {workers}')
    if not views or len(set(views)) != len(views):
        raise ValueError(f'views must be distinct and non-empty, got {views}')
    unknown = [view for view in views if view not in VIEW_GEOMETRY]
    if unknown:
        raise ValueError(f'unknown view(s) {unknown}; expected some of '
                         f'{sorted(VIEW_GEOMETRY)}')
