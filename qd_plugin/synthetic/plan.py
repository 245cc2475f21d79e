"""Who records what: participants, their splits and their recordings."""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..datasets.driveact_classes import DRIVEACT_VIEWS
from ..datasets.driveact_layout import NUM_SPLITS


@dataclass(frozen=True)
class Participant:
    """Appearance and manner of one participant, shared by their recordings.

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
    activity: str
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
        splits[split] = dict(
            train=sorted(rotated[val_end:]),
            val=sorted(rotated[sizes['test']:val_end]),
            test=sorted(rotated[:sizes['test']]))
    return splits


def sample_participant(participant_id: int, aspect: float,
                       rng: np.random.Generator) -> Participant:
    """Draw the appearance and manner of one participant.

    Args:
        participant_id (int): Drive&Act participant number (``vp<N>``).
        aspect (float): Frame width / height.
        rng (np.random.Generator): Draws everything.

    Returns:
        Participant: The participant.
    """
    return Participant(
        participant_id=participant_id,
        anchor=(aspect * rng.uniform(0.46, 0.54), rng.uniform(0.55, 0.59)),
        scale=rng.uniform(1.2, 1.4),
        background_top=tuple(rng.uniform(80, 170) + rng.uniform(-25, 25, 3)),
        background_bottom=tuple(
            rng.uniform(30, 100) + rng.uniform(-20, 20, 3)),
        shirt_color=tuple(rng.uniform(20, 140, 3)),
        skin_color=tuple(np.array([0.55, 0.7, 0.9]) * rng.uniform(180, 250)),
        light_gain=rng.uniform(0.85, 1.15),
        motion_speed=rng.uniform(0.9, 1.1),
        motion_reach=rng.uniform(0.9, 1.1))


def plan_recordings(participants: Sequence[Participant],
                    classes: Sequence[str], recordings_per_participant: int,
                    segments_per_recording: int, chunk_len: int,
                    seed: np.random.SeedSequence) -> List[Recording]:
    """Lay out every recording's segments; annotation ids count up globally.

    Every participant performs every class as evenly as the number of
    segments allows.

    Args:
        participants (Sequence[Participant]): Who records.
        classes (Sequence[str]): The activities.
        recordings_per_participant (int): Recordings of each participant.
        segments_per_recording (int): Activity segments of each recording.
        chunk_len (int): Most frames of an annotated chunk.
        seed (np.random.SeedSequence): Seeds each participant's plan.

    Returns:
        list[Recording]: All recordings, participant by participant.
    """
    recordings = []
    next_annotation_id = 0
    for participant, participant_seed in zip(participants,
                                             seed.spawn(len(participants))):
        rng = np.random.default_rng(participant_seed)
        labels = _balanced_labels(
            len(classes), recordings_per_participant * segments_per_recording,
            rng).reshape(recordings_per_participant, segments_per_recording)
        for run, run_labels in enumerate(labels):
            recording = _plan_recording(participant, run,
                                        [classes[i] for i in run_labels],
                                        chunk_len, next_annotation_id, rng)
            next_annotation_id += len(recording.segments)
            recordings.append(recording)
    return recordings


def _balanced_labels(num_classes: int, num_slots: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Labels for ``num_slots`` segments, each class as often as possible."""
    rounds = math.ceil(num_slots / num_classes)
    labels = np.concatenate(
        [rng.permutation(num_classes) for _ in range(rounds)])[:num_slots]
    return rng.permutation(labels)


def _plan_recording(participant: Participant, run: int,
                    activities: Sequence[str], chunk_len: int,
                    first_annotation_id: int,
                    rng: np.random.Generator) -> Recording:
    """Place the segments of one recording between idle gaps.

    A segment spans one to three chunks; its last chunk is at least 60% of
    ``chunk_len`` long, so that a clip sampled inside a chunk rarely has to
    loop.
    """
    frame = _idle_gap(chunk_len, rng)
    segments = []
    for offset, activity in enumerate(activities):
        num_chunks = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2])
        last_chunk = rng.integers(math.ceil(0.6 * chunk_len), chunk_len + 1)
        length = int((num_chunks - 1) * chunk_len + last_chunk)
        segments.append(
            Segment(first_annotation_id + offset, activity, frame,
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
