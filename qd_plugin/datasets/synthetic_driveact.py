"""A small synthetic stand-in for Drive&Act, in the release's exact layout.

The real Drive&Act data is license-gated. This module writes long recordings
and chunked split files shaped like the release, so that training,
distillation, quantization and evaluation can run end to end without it::

    <out_dir>/videos/vp<P>/run<R>b_<date>.<view suffix>.mp4
    <out_dir>/activities_3s/<view>/midlevel.chunks_90.split_<N>.<subset>.csv
    <out_dir>/synthetic_driveact.json   (the generation parameters)

The split files keep the name ``chunks_90`` whatever ``chunk_len`` is, so that
loaders built for the release find them.

What makes the task learnable but not trivial:

* A class is a *motion* of the driver's active hand, in front of the chest
  (directions as seen in ``inner_mirror``)::

      class  0 circle clockwise        4 growing and snapping back (pulse)
             1 circle anticlockwise    5 figure eight
             2 horizontal sawtooth     6 diagonal sawtooth
             3 2 played backwards      7 6 played backwards

  A sawtooth moves slowly one way and quickly back. Classes 8 and up repeat
  these at other speeds and amplitudes, close to their base class. The hand,
  driver and scene look the same for every class and a segment starts at a
  random phase of its path, so one frame says little about the class.
* Classes 0/1, 2/3 and 6/7 differ only by the direction of time.
* Nuisances: the other hand fidgets with random class motions unrelated to
  the label; per-participant background, lighting, colours, position, scale,
  speed and reach of the driver; per-recording moving blobs that occlude the
  hands, a blinking light, light flicker and head sway; per-segment period,
  speed, amplitude and phase jitter; pixel noise (mostly smoothed away by the
  codec); unannotated idle frames between segments.

Activity names are the first ``num_classes`` entries of
:data:`DRIVEACT_MIDLEVEL_CLASSES`, so the labels a loader derives from the
pinned 34-class list are ``0 .. num_classes - 1``.
"""
import csv
import json
import math
import os
import os.path as osp
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .driveact_classes import (DRIVEACT_CSV_COLUMNS, DRIVEACT_MIDLEVEL_CLASSES,
                               DRIVEACT_VIEWS)

SUBSETS = ('train', 'val', 'test')
NUM_SPLITS = 3
VIDEO_DIR = 'videos'
ANNOTATION_DIR = 'activities_3s'
MARKER_FILE = 'synthetic_driveact.json'

# The eight base motions: (path, played backwards). Class c uses base motion
# c % 8 at speed/amplitude tier c // 8.
_BASE_MOTIONS = (('circle', False), ('circle', True),
                 ('horizontal', False), ('horizontal', True),
                 ('pulse', False), ('figure_eight', False),
                 ('diagonal', False), ('diagonal', True))
# (period scale, amplitude scale) per tier. Widened by the jitter of segments
# and participants, neighbouring period ranges overlap a little.
_MOTION_TIERS = ((1.0, 1.0), (0.55, 0.8), (1.7, 1.15), (0.75, 1.2),
                 (1.3, 0.85))
_PERIOD_JITTER = 0.12
# Smooth speed changes within a segment (fraction of the mean speed) and the
# per-segment amplitude jitter.
_SPEED_WOBBLE = 0.25
_AMPLITUDE_JITTER = 0.15
# Fraction of a sawtooth period spent on the slow stroke.
_SAWTOOTH_SLOW_FRACTION = 0.65

# Per view: (mirrored, scale, shift in frame heights, grey). Every view sees
# the same scene through a different geometry.
_VIEW_GEOMETRY = {
    'inner_mirror': (False, 1.0, (0.0, 0.0), False),
    'a_column_co_driver': (True, 0.9, (0.08, 0.02), False),
    'ceiling': (False, 0.8, (0.0, -0.08), False),
    'steering_wheel': (False, 1.2, (0.05, 0.05), False),
    'a_column_driver': (True, 1.1, (-0.06, 0.0), False),
    'kinect_color': (False, 0.9, (-0.05, 0.04), False),
    'kinect_ir': (True, 0.95, (0.03, -0.03), True),
}

_NOISE_STD = 4.0
# Sub-pixel precision of the cv2 drawing calls (coordinates times 2**4).
_DRAW_SHIFT = 4


@dataclass(frozen=True)
class MotionPattern:
    """The class-specific motion of the hand.

    Args:
        path (str): Shape of the path: ``'circle'``, ``'horizontal'``,
            ``'diagonal'``, ``'figure_eight'`` or ``'pulse'`` (a small circle
            while the hand grows and snaps back).
        backwards (bool): Whether the path is run backwards in time.
        period_scale (float): Period relative to the base period.
        amplitude_scale (float): Amplitude relative to the base amplitude.
    """
    path: str
    backwards: bool
    period_scale: float
    amplitude_scale: float


@dataclass(frozen=True)
class Participant:
    """Appearance of one participant, shared by their recordings.

    Coordinates are in frame heights: x in ``[0, W / H]``, y in ``[0, 1]``.
    """
    participant_id: int
    anchor: Tuple[float, float]
    scale: float
    background_top: Tuple[float, float, float]
    background_bottom: Tuple[float, float, float]
    shirt_color: Tuple[float, float, float]
    skin_color: Tuple[float, float, float]
    light_gain: float
    motion_speed: float
    motion_reach: float


@dataclass(frozen=True)
class Segment:
    """One annotated activity ``[frame_start, frame_end)`` of a recording."""
    annotation_id: int
    label: int
    frame_start: int
    frame_end: int


@dataclass(frozen=True)
class Recording:
    """A long recording of one participant and its activity segments."""
    participant: Participant
    name: str
    num_frames: int
    segments: Tuple[Segment, ...]
    seed: int

    def file_id(self, view: str) -> str:
        """Drive&Act ``file_id`` of this recording seen from ``view``."""
        return (f'vp{self.participant.participant_id}/{self.name}.'
                f'{DRIVEACT_VIEWS[view]}')


@dataclass
class SceneTimeline:
    """Per-frame state of everything that moves, in frame heights."""
    hand_xy: np.ndarray  # (T, 2)
    hand_radius: np.ndarray  # (T, )
    other_hand_xy: np.ndarray  # (T, 2)
    other_hand_radius: np.ndarray  # (T, )
    head_xy: np.ndarray  # (T, 2)
    distractor_xy: np.ndarray  # (K, T, 2)
    distractor_radius: np.ndarray  # (K, )
    distractor_color: np.ndarray  # (K, 3)
    blink_on: np.ndarray  # (T, ) bool
    light: np.ndarray  # (T, )


def class_motion(label: int) -> MotionPattern:
    """The motion pattern that defines class ``label``.

    Args:
        label (int): Class index.

    Returns:
        MotionPattern: Its motion.
    """
    path, backwards = _BASE_MOTIONS[label % len(_BASE_MOTIONS)]
    period_scale, amplitude_scale = _MOTION_TIERS[label // len(_BASE_MOTIONS)]
    return MotionPattern(path, backwards, period_scale, amplitude_scale)


def make_synthetic_driveact(out_dir: str,
                            num_classes: int = 8,
                            num_participants: int = 6,
                            recordings_per_participant: int = 2,
                            segments_per_recording: Optional[int] = None,
                            frame_size: Tuple[int, int] = (96, 128),
                            fps: int = 30,
                            chunk_len: int = 90,
                            views: Sequence[str] = ('inner_mirror', ),
                            seed: int = 0,
                            overwrite: bool = False,
                            verify_videos: bool = True) -> dict:
    """Write a synthetic Drive&Act dataset to ``out_dir``.

    Participants ``vp1 .. vp<num_participants>`` are dealt to train/val/test
    in the proportions of Drive&Act (10/2/3 of 15) and rotated over the three
    splits. Every participant performs every class, so every class is in every
    subset of every split. A segment spans one to three chunks, the last one
    at least half of ``chunk_len`` long.

    Args:
        out_dir (str): Where to write ``videos/``, ``activities_3s/`` and
            the parameter file.
        num_classes (int): Number of classes, 1 to 34; the activities are the
            first ``num_classes`` Drive&Act midlevel classes. Defaults to 8.
        num_participants (int): At least 3. Defaults to 6.
        recordings_per_participant (int): Defaults to 2.
        segments_per_recording (int, optional): Activity segments per
            recording. Defaults to enough for every class to appear twice per
            participant. Must give each participant at least one segment per
            class.
        frame_size (tuple[int, int]): ``(height, width)``, both even and at
            least 16. Defaults to ``(96, 128)``.
        fps (int): Frame rate of the videos. Defaults to 30.
        chunk_len (int): Most frames of a chunk, at least 8; motion periods
            scale with it. Defaults to 90.
        views (Sequence[str]): Camera views (keys of ``DRIVEACT_VIEWS``) to
            render; each gets its own videos and split files.
            Defaults to ``('inner_mirror', )``.
        seed (int): Seed; the same seed writes the same data. Defaults to 0.
        overwrite (bool): Replace data that a previous call wrote to
            ``out_dir``. Data this function did not write is never removed.
            Defaults to False.
        verify_videos (bool): Decode every video's length with decord after
            writing it. Defaults to True.

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
    if segments_per_recording is None:
        segments_per_recording = math.ceil(2 * num_classes /
                                           recordings_per_participant)
    _check_arguments(num_classes, num_participants, recordings_per_participant,
                     segments_per_recording, frame_size, fps, chunk_len, views)
    params = dict(
        num_classes=num_classes,
        num_participants=num_participants,
        recordings_per_participant=recordings_per_participant,
        segments_per_recording=segments_per_recording,
        frame_size=list(frame_size),
        fps=fps,
        chunk_len=chunk_len,
        views=list(views),
        seed=seed)
    _prepare_out_dir(out_dir, overwrite, params)

    seeds = np.random.SeedSequence(seed).spawn(3)
    participant_ids = list(range(1, num_participants + 1))
    splits = assign_participants_to_splits(
        participant_ids, np.random.default_rng(seeds[0]))
    recordings = _plan_recordings(participant_ids, num_classes,
                                  recordings_per_participant,
                                  segments_per_recording, frame_size,
                                  chunk_len, seeds[1], seeds[2])

    video_root = osp.join(out_dir, VIDEO_DIR)
    videos = _write_videos(video_root, recordings, views, frame_size, fps,
                           chunk_len, verify_videos)
    ann_root = osp.join(out_dir, ANNOTATION_DIR)
    ann_files = {
        view: _write_split_files(ann_root, view, recordings, splits, chunk_len)
        for view in views
    }
    summary = dict(
        out_dir=out_dir,
        video_root=video_root,
        ann_root=ann_root,
        classes=DRIVEACT_MIDLEVEL_CLASSES[:num_classes],
        views=views,
        participants=splits,
        ann_files=ann_files,
        videos=videos,
        num_frames=sum(r.num_frames for r in recordings),
        num_segments=sum(len(r.segments) for r in recordings),
        num_chunks=_count_chunks(recordings, splits, chunk_len))
    _write_marker(out_dir, params, complete=True)
    return summary


def _write_videos(video_root: str, recordings: Sequence[Recording],
                  views: Sequence[str], frame_size: Tuple[int, int], fps: int,
                  chunk_len: int, verify: bool) -> List[str]:
    """Render and write every recording from every view; return the paths."""
    paths = []
    for recording in recordings:
        timeline = build_scene_timeline(recording, frame_size, chunk_len)
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


def _check_arguments(num_classes: int, num_participants: int,
                     recordings_per_participant: int,
                     segments_per_recording: int, frame_size: Tuple[int, int],
                     fps: int, chunk_len: int, views: Tuple[str, ...]) -> None:
    max_classes = min(len(DRIVEACT_MIDLEVEL_CLASSES),
                      len(_BASE_MOTIONS) * len(_MOTION_TIERS))
    if not 1 <= num_classes <= max_classes:
        raise ValueError(f'num_classes must be in [1, {max_classes}], '
                         f'got {num_classes}')
    if num_participants < len(SUBSETS):
        raise ValueError('num_participants must be at least 3 (one per '
                         f'subset), got {num_participants}')
    if recordings_per_participant < 1:
        raise ValueError('recordings_per_participant must be at least 1')
    if recordings_per_participant * segments_per_recording < num_classes:
        raise ValueError(
            f'{recordings_per_participant} recording(s) x '
            f'{segments_per_recording} segment(s) per participant cannot hold '
            f'all {num_classes} classes; every participant needs every class '
            'for every class to be in every subset')
    height, width = frame_size
    if height < 16 or width < 16 or height % 2 or width % 2:
        raise ValueError(f'frame_size must be even and at least 16, '
                         f'got {frame_size}')
    if fps < 1:
        raise ValueError(f'fps must be positive, got {fps}')
    if chunk_len < 8:
        raise ValueError(f'chunk_len must be at least 8, got {chunk_len}')
    if not views or len(set(views)) != len(views):
        raise ValueError(f'views must be distinct and non-empty, got {views}')
    unknown = [view for view in views if view not in _VIEW_GEOMETRY]
    if unknown:
        raise ValueError(f'unknown view(s) {unknown}; expected some of '
                         f'{sorted(_VIEW_GEOMETRY)}')


def _prepare_out_dir(out_dir: str, overwrite: bool, params: dict) -> None:
    """Make ``out_dir`` ready, removing earlier synthetic data if allowed."""
    owned = [VIDEO_DIR, ANNOTATION_DIR, MARKER_FILE]
    existing = [name for name in owned if osp.lexists(osp.join(out_dir, name))]
    if existing:
        if not overwrite:
            raise FileExistsError(
                f'{out_dir} already holds data ({", ".join(existing)}); '
                'pass overwrite=True (--overwrite) to replace it')
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
    _write_marker(out_dir, params, complete=False)


def _write_marker(out_dir: str, params: dict, complete: bool) -> None:
    with open(osp.join(out_dir, MARKER_FILE), 'w') as f:
        json.dump(dict(generator=__name__, complete=complete, **params),
                  f, indent=2)
        f.write('\n')


def subset_sizes(num_participants: int) -> Dict[str, int]:
    """Participants per subset, in Drive&Act's proportions (10/2/3 of 15).

    Args:
        num_participants (int): At least 3.

    Returns:
        dict[str, int]: Participants of ``train``, ``val`` and ``test``.
    """
    num_test = max(1, round(num_participants * 3 / 15))
    num_val = max(1, round(num_participants * 2 / 15))
    return dict(
        train=num_participants - num_test - num_val,
        val=num_val,
        test=num_test)


def assign_participants_to_splits(
        participant_ids: Sequence[int],
        rng: np.random.Generator) -> Dict[int, Dict[str, List[int]]]:
    """Deal participants to train/val/test, rotating them over the splits.

    Split ``n`` takes test, val, then train participants from a shuffled order
    rotated by ``n * num_test``, so that, as in Drive&Act, no participant is
    tested in two splits.

    Args:
        participant_ids (Sequence[int]): All participants.
        rng (np.random.Generator): Shuffles the order.

    Returns:
        dict: ``{split: {subset: sorted participant ids}}``.
    """
    order = [int(p) for p in rng.permutation(participant_ids)]
    sizes = subset_sizes(len(order))
    val_end = sizes['test'] + sizes['val']
    splits = {}
    for split in range(NUM_SPLITS):
        shift = split * sizes['test']
        rotated = order[shift:] + order[:shift]
        test = rotated[:sizes['test']]
        val = rotated[sizes['test']:val_end]
        train = rotated[val_end:]
        splits[split] = dict(
            train=sorted(train), val=sorted(val), test=sorted(test))
    return splits


def _plan_recordings(participant_ids: Sequence[int], num_classes: int,
                     recordings_per_participant: int,
                     segments_per_recording: int, frame_size: Tuple[int, int],
                     chunk_len: int, appearance_seed: np.random.SeedSequence,
                     recording_seed: np.random.SeedSequence
                     ) -> List[Recording]:
    """Lay out every recording's segments; annotation ids count up globally."""
    aspect = frame_size[1] / frame_size[0]
    appearance_seeds = appearance_seed.spawn(len(participant_ids))
    recording_seeds = recording_seed.spawn(len(participant_ids))
    recordings = []
    next_annotation_id = 0
    for index, participant_id in enumerate(participant_ids):
        participant = _sample_participant(
            participant_id, aspect,
            np.random.default_rng(appearance_seeds[index]))
        rng = np.random.default_rng(recording_seeds[index])
        labels = _balanced_labels(
            num_classes, recordings_per_participant * segments_per_recording,
            rng).reshape(recordings_per_participant, segments_per_recording)
        for run, run_labels in enumerate(labels):
            recording = _plan_recording(participant, run, run_labels,
                                        chunk_len, next_annotation_id, rng)
            next_annotation_id += len(recording.segments)
            recordings.append(recording)
    return recordings


def _sample_participant(participant_id: int, aspect: float,
                        rng: np.random.Generator) -> Participant:
    return Participant(
        participant_id=participant_id,
        anchor=(aspect * rng.uniform(0.4, 0.6), rng.uniform(0.58, 0.68)),
        scale=rng.uniform(0.85, 1.15),
        background_top=tuple(rng.uniform(60, 200, 3)),
        background_bottom=tuple(rng.uniform(20, 140, 3)),
        shirt_color=tuple(rng.uniform(20, 110, 3)),
        skin_color=tuple(np.array([0.55, 0.7, 0.9]) * rng.uniform(180, 250)),
        light_gain=rng.uniform(0.8, 1.2),
        motion_speed=rng.uniform(0.85, 1.15),
        motion_reach=rng.uniform(0.85, 1.15))


def _balanced_labels(num_classes: int, num_slots: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Labels for ``num_slots`` segments, each class as often as possible."""
    rounds = math.ceil(num_slots / num_classes)
    labels = np.concatenate(
        [rng.permutation(num_classes) for _ in range(rounds)])[:num_slots]
    return rng.permutation(labels)


def _plan_recording(participant: Participant, run: int,
                    labels: Sequence[int], chunk_len: int,
                    first_annotation_id: int,
                    rng: np.random.Generator) -> Recording:
    """Place the segments of one recording between idle gaps."""
    frame = _idle_gap(chunk_len, rng)
    segments = []
    for offset, label in enumerate(labels):
        num_chunks = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2])
        last_chunk = rng.integers(chunk_len // 2, chunk_len + 1)
        length = int((num_chunks - 1) * chunk_len + last_chunk)
        segments.append(
            Segment(first_annotation_id + offset, int(label), frame,
                    frame + length))
        frame += length + _idle_gap(chunk_len, rng)
    start = (datetime(2018, 5, 7) +
             timedelta(days=3 * (participant.participant_id - 1),
                       hours=9 + 2 * run,
                       seconds=int(rng.integers(0, 3600))))
    name = f'run{run + 1}b_{start:%Y-%m-%d-%H-%M-%S}'
    return Recording(participant, name, frame, tuple(segments),
                     int(rng.integers(2**32)))


def _idle_gap(chunk_len: int, rng: np.random.Generator) -> int:
    return int(rng.integers(max(1, chunk_len // 6), chunk_len // 2 + 1))


def chunk_ranges(frame_start: int, frame_end: int,
                 chunk_len: int) -> List[Tuple[int, int]]:
    """Cut ``[frame_start, frame_end)`` into consecutive chunks.

    Args:
        frame_start (int): First frame of the segment.
        frame_end (int): One past its last frame.
        chunk_len (int): Most frames of a chunk.

    Returns:
        list[tuple[int, int]]: ``(chunk_start, chunk_end)`` of every chunk,
        all ``chunk_len`` long but possibly the last.
    """
    return [(start, min(start + chunk_len, frame_end))
            for start in range(frame_start, frame_end, chunk_len)]


def path_offsets(
        pattern: MotionPattern,
        phase: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand offset and radius factor along ``pattern`` at ``phase``.

    Args:
        pattern (MotionPattern): The motion.
        phase (np.ndarray): Phase in periods; it increases with time.

    Returns:
        tuple[np.ndarray]: ``dx``, ``dy`` in units of the amplitude, and the
        factor on the hand radius.
    """
    cycle = np.mod(phase, 1.0)
    if pattern.backwards:
        cycle = 1.0 - cycle
    angle = 2 * np.pi * cycle
    saw = _sawtooth(cycle)
    ones, zeros = np.ones_like(cycle), np.zeros_like(cycle)
    if pattern.path == 'circle':
        return np.cos(angle), np.sin(angle), ones
    if pattern.path == 'horizontal':
        return saw, zeros, ones
    if pattern.path == 'diagonal':
        return 0.75 * saw, 0.75 * saw, ones
    if pattern.path == 'figure_eight':
        return np.sin(angle), 0.5 * np.sin(2 * angle), ones
    if pattern.path == 'pulse':
        return 0.4 * np.cos(angle), 0.4 * np.sin(angle), 1.1 + 0.4 * saw
    raise ValueError(f'unknown path {pattern.path!r}')


def _sawtooth(cycle: np.ndarray) -> np.ndarray:
    """-1 to 1 slowly, then back to -1 quickly, over one cycle."""
    slow = _SAWTOOTH_SLOW_FRACTION
    rise = np.where(cycle < slow, cycle / slow, (1.0 - cycle) / (1.0 - slow))
    return 2.0 * rise - 1.0


def build_scene_timeline(recording: Recording, frame_size: Tuple[int, int],
                         chunk_len: int) -> SceneTimeline:
    """Per-frame state of the scene of ``recording`` (shared by all views).

    Args:
        recording (Recording): The recording.
        frame_size (tuple[int, int]): ``(height, width)``.
        chunk_len (int): Chunk length; motion periods scale with it.

    Returns:
        SceneTimeline: Positions, sizes, blinking and light per frame.
    """
    rng = np.random.default_rng([recording.seed, 0])
    participant = recording.participant
    anchor, scale = np.array(participant.anchor), participant.scale
    amplitude = 0.2 * scale * participant.motion_reach
    base_period = max(6.0, 0.45 * chunk_len) / participant.motion_speed
    hand_xy, hand_radius = _acting_hand(recording.segments,
                                        recording.num_frames,
                                        anchor + scale * np.array([0, -0.12]),
                                        amplitude, 0.07 * scale, base_period,
                                        rng)
    other_hand_xy, other_hand_radius = _fidgeting_hand(
        anchor + scale * np.array([-0.22, 0.1]), 0.6 * amplitude, 0.06 * scale,
        recording.num_frames, base_period, chunk_len, rng)
    time = np.arange(recording.num_frames, dtype=np.float64)
    sway = 0.02 * _sine(time, rng.uniform(2, 5) * chunk_len, rng)
    head_xy = anchor + scale * np.stack(
        [sway, np.full_like(time, -0.3)], axis=1)
    num_distractors = int(rng.integers(1, 3))
    distractor_xy = np.stack([
        _wandering_path(time, frame_size[1] / frame_size[0], chunk_len, rng)
        for _ in range(num_distractors)
    ])
    return SceneTimeline(
        hand_xy=hand_xy,
        hand_radius=hand_radius,
        other_hand_xy=other_hand_xy,
        other_hand_radius=other_hand_radius,
        head_xy=head_xy,
        distractor_xy=distractor_xy,
        distractor_radius=rng.uniform(0.025, 0.05, num_distractors),
        distractor_color=rng.uniform(0, 255, (num_distractors, 3)),
        blink_on=_sine(time, rng.uniform(0.3, 1.2) * chunk_len, rng) > 0,
        light=participant.light_gain *
        (1 + 0.04 * _sine(time, rng.uniform(1, 4) * chunk_len, rng)))


def _acting_hand(segments: Sequence[Segment], num_frames: int,
                 rest: np.ndarray, amplitude: float, radius: float,
                 base_period: float,
                 rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """The hand that performs the labelled motions, idle in between.

    Returns:
        tuple[np.ndarray]: ``(T, 2)`` positions and ``(T, )`` radii.
    """
    xy = rest + _idle_drift(num_frames, 0.25 * amplitude, rng)
    radii = np.full(num_frames, radius)
    for segment in segments:
        frames = slice(segment.frame_start, segment.frame_end)
        offsets, radius_factor = perform_motion(
            class_motion(segment.label),
            segment.frame_end - segment.frame_start, base_period, rng)
        center = rest + amplitude * 0.2 * rng.uniform(-1, 1, 2)
        xy[frames] = center + amplitude * offsets
        radii[frames] *= radius_factor
    return xy, radii


def _sine(time: np.ndarray, period: float,
          rng: np.random.Generator) -> np.ndarray:
    """A sine of ``period`` frames at a random phase."""
    return np.sin(2 * np.pi * time / period + rng.uniform(0, 2 * np.pi))


def perform_motion(pattern: MotionPattern, length: int, base_period: float,
                   rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """One performance of ``pattern``: a random phase, speed and size.

    Args:
        pattern (MotionPattern): The motion.
        length (int): Number of frames.
        base_period (float): Period of the base tier, in frames.
        rng (np.random.Generator): Draws the jitter.

    Returns:
        tuple[np.ndarray]: ``(length, 2)`` offsets in units of the base
        amplitude, and the ``(length, )`` factor on the hand radius.
    """
    period = (base_period * pattern.period_scale *
              rng.uniform(1 - _PERIOD_JITTER, 1 + _PERIOD_JITTER))
    wobble = _smooth_noise(length, base_period, rng)
    phase = rng.uniform() + np.cumsum(1.0 + _SPEED_WOBBLE * wobble) / period
    dx, dy, radius_factor = path_offsets(pattern, phase)
    reach = pattern.amplitude_scale * rng.uniform(1 - _AMPLITUDE_JITTER,
                                                  1 + _AMPLITUDE_JITTER)
    return reach * np.stack([dx, dy], axis=1), radius_factor


def _smooth_noise(length: int, base_period: float,
                  rng: np.random.Generator) -> np.ndarray:
    """A smooth random signal in [-1, 1], varying over about a period."""
    time = np.arange(length)
    periods = rng.uniform(0.7, 2.0, 2) * base_period
    phases = rng.uniform(0, 2 * np.pi, 2)
    return sum(np.sin(2 * np.pi * time / p + q)
               for p, q in zip(periods, phases)) / 2


def _fidgeting_hand(rest: np.ndarray, amplitude: float, radius: float,
                    num_frames: int, base_period: float, chunk_len: int,
                    rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """The driver's other hand: random motions unrelated to the label.

    It plays random class motions, and rests in between, in pieces that
    ignore the segment boundaries.

    Returns:
        tuple[np.ndarray]: ``(T, 2)`` positions and ``(T, )`` radii.
    """
    xy = rest + _idle_drift(num_frames, 0.25 * amplitude, rng)
    radii = np.full(num_frames, radius)
    num_motions = len(_BASE_MOTIONS) * len(_MOTION_TIERS)
    start = 0
    while start < num_frames:
        end = min(num_frames,
                  start + int(rng.integers(chunk_len // 2, 2 * chunk_len)))
        if rng.uniform() < 0.7:
            offsets, radius_factor = perform_motion(
                class_motion(int(rng.integers(num_motions))), end - start,
                base_period, rng)
            xy[start:end] = rest + amplitude * offsets
            radii[start:end] *= radius_factor
        start = end
    return xy, radii


def _idle_drift(num_frames: int, reach: float,
                rng: np.random.Generator) -> np.ndarray:
    """A slow bounded random walk, (T, 2), for the idle hand."""
    steps = rng.standard_normal((num_frames, 2)) * reach * 0.05
    return np.clip(np.cumsum(steps, axis=0), -reach, reach)


def _wandering_path(time: np.ndarray, aspect: float, chunk_len: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(T, 2) smooth path of a distractor over the whole frame."""
    coords = []
    for extent in (aspect, 1.0):
        periods = rng.uniform(1.5, 4.0, 2) * chunk_len
        phases = rng.uniform(0, 2 * np.pi, 2)
        wave = sum(np.sin(2 * np.pi * time / p + q)
                   for p, q in zip(periods, phases)) / 2
        coords.append(extent * (0.5 + 0.4 * wave))
    return np.stack(coords, axis=1)


class _ViewGeometry:
    """Maps scene coordinates (frame heights) to pixels of one view."""

    def __init__(self, view: str, frame_size: Tuple[int, int]) -> None:
        mirrored, scale, shift, self.grey = _VIEW_GEOMETRY[view]
        self.height, width = frame_size
        self.aspect = width / self.height
        self.mirrored = mirrored
        self.scale = scale
        self.shift = shift

    def point(self, x: float, y: float) -> Tuple[int, int]:
        """Pixel position in cv2 fixed point (``_DRAW_SHIFT`` bits)."""
        if self.mirrored:
            x = self.aspect - x
        center_x = self.aspect / 2
        x = center_x + self.scale * (x - center_x) + self.shift[0]
        y = 0.5 + self.scale * (y - 0.5) + self.shift[1]
        return (round(x * self.height * 2**_DRAW_SHIFT),
                round(y * self.height * 2**_DRAW_SHIFT))

    def length(self, value: float) -> int:
        """A length in cv2 fixed point."""
        return max(1, round(value * self.scale * self.height * 2**_DRAW_SHIFT))


def render_view(participant: Participant, timeline: SceneTimeline, view: str,
                frame_size: Tuple[int, int],
                noise_rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Render the frames of one recording as seen from ``view``.

    Args:
        participant (Participant): Appearance of the driver and car.
        timeline (SceneTimeline): Scene state per frame.
        view (str): Camera view.
        frame_size (tuple[int, int]): ``(height, width)``.
        noise_rng (np.random.Generator): Draws the pixel noise.

    Yields:
        np.ndarray: BGR uint8 frames of shape ``(height, width, 3)``.
    """
    geometry = _ViewGeometry(view, frame_size)
    background = _render_background(participant, geometry, frame_size)
    anchor = participant.anchor
    blink_xy = (anchor[0] + 0.35 * participant.scale, 0.9)
    head_radius = 0.09 * participant.scale
    hand_color = tuple(0.8 * c for c in participant.skin_color)
    for t in range(len(timeline.light)):
        frame = background.copy()
        _disc(frame, geometry, timeline.head_xy[t], head_radius,
              participant.skin_color)
        _disc(frame, geometry, timeline.other_hand_xy[t],
              timeline.other_hand_radius[t], hand_color)
        _disc(frame, geometry, timeline.hand_xy[t], timeline.hand_radius[t],
              hand_color)
        for xy, radius, color in zip(timeline.distractor_xy[:, t],
                                     timeline.distractor_radius,
                                     timeline.distractor_color):
            _disc(frame, geometry, xy, radius, color)
        if timeline.blink_on[t]:
            _disc(frame, geometry, blink_xy, 0.025, (40, 220, 255))
        yield _expose(frame, timeline.light[t], geometry.grey, noise_rng)


def _render_background(participant: Participant, geometry: _ViewGeometry,
                       frame_size: Tuple[int, int]) -> np.ndarray:
    """The static part: car interior and the driver's torso."""
    height, width = frame_size
    weight = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top = np.array(participant.background_top, np.float32)
    bottom = np.array(participant.background_bottom, np.float32)
    frame = (top * (1 - weight) + bottom * weight).repeat(width, axis=1)
    frame = np.ascontiguousarray(frame.astype(np.uint8))
    window = [geometry.point(0.1, 0.08), geometry.point(0.75, 0.35)]
    _box(frame, window, tuple(min(255.0, c + 50) for c in participant.
                              background_top))
    anchor, scale = participant.anchor, participant.scale
    seat = [geometry.point(anchor[0] - 0.24 * scale, anchor[1] - 0.45 * scale),
            geometry.point(anchor[0] + 0.24 * scale, 1.1)]
    _box(frame, seat, tuple(0.6 * c for c in participant.background_bottom))
    cv2.ellipse(frame, geometry.point(*anchor),
                (geometry.length(0.17 * scale), geometry.length(0.24 * scale)),
                0, 0, 360, participant.shirt_color, -1, cv2.LINE_AA,
                _DRAW_SHIFT)
    return frame


def _box(frame: np.ndarray, corners: List[Tuple[int, int]],
         color: Sequence[float]) -> None:
    (x0, y0), (x1, y1) = corners
    top_left = (min(x0, x1), min(y0, y1))
    bottom_right = (max(x0, x1), max(y0, y1))
    cv2.rectangle(frame, top_left, bottom_right, tuple(color), -1,
                  cv2.LINE_AA, _DRAW_SHIFT)


def _disc(frame: np.ndarray, geometry: _ViewGeometry, xy: Sequence[float],
          radius: float, color: Sequence[float]) -> None:
    cv2.circle(frame, geometry.point(xy[0], xy[1]), geometry.length(radius),
               tuple(float(c) for c in color), -1, cv2.LINE_AA, _DRAW_SHIFT)


def _expose(frame: np.ndarray, light: float, grey: bool,
            rng: np.random.Generator) -> np.ndarray:
    """Apply lighting, optional greyscale and sensor noise."""
    image = frame.astype(np.float32)
    if grey:
        image = image.mean(axis=2, keepdims=True).repeat(3, axis=2)
    image *= light
    image += rng.standard_normal(image.shape, dtype=np.float32) * _NOISE_STD
    return np.clip(image, 0, 255).astype(np.uint8)


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
                activity=DRIVEACT_MIDLEVEL_CLASSES[segment.label],
                chunk_id=chunk_id)


def _write_split_files(ann_root: str, view: str,
                       recordings: Sequence[Recording],
                       splits: Dict[int, Dict[str, List[int]]],
                       chunk_len: int) -> Dict[int, Dict[str, str]]:
    """Write the nine split files of one view; return their paths."""
    view_dir = osp.join(ann_root, view)
    os.makedirs(view_dir, exist_ok=True)
    paths: Dict[int, Dict[str, str]] = {}
    for split, subsets in splits.items():
        paths[split] = {}
        for subset in SUBSETS:
            path = osp.join(view_dir,
                            f'midlevel.chunks_90.split_{split}.{subset}.csv')
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


def _count_chunks(recordings: Sequence[Recording],
                  splits: Dict[int, Dict[str, List[int]]],
                  chunk_len: int) -> Dict[int, Dict[str, int]]:
    chunks_of = {}
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
