"""Where everything in the car is, frame by frame, for one recording."""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .activities import ACTIVITIES, PLACES, ActivityScript
from .plan import Recording

#: Props a hand can hold or work on; a timeline stores their index.
PROPS = ('', 'bottle', 'food', 'phone', 'belt', 'laptop', 'laptop_open',
         'laptop_in_hand', 'sunglasses', 'jacket', 'box', 'backpack',
         'magazine', 'newspaper', 'paper')
_OTHER_HAND_REST = (0.12, 0.2)
# Fraction of a sawtooth cycle spent on the slow stroke.
_SAW_SLOW_FRACTION = 0.7
# Per-segment jitter of the period and of the reach, and smooth speed changes
# within a segment (fractions).
_PERIOD_JITTER = 0.12
_REACH_JITTER = 0.12
_SPEED_WOBBLE = 0.2
# Frames over which the hand moves between its rest and a segment's motion.
_BLEND_FRAMES = 6


@dataclass
class SceneTimeline:
    """Per-frame positions (frame heights) of everything that moves."""
    torso: np.ndarray  # (T, 2)
    head: np.ndarray  # (T, 2)
    hand: np.ndarray  # (T, 2) the active hand
    other_hand: np.ndarray  # (T, 2)
    prop: np.ndarray  # (T, ) index into PROPS
    distractor_xy: np.ndarray  # (K, T, 2)
    distractor_radius: np.ndarray  # (K, )
    distractor_color: np.ndarray  # (K, 3)
    blink_on: np.ndarray  # (T, ) bool
    light: np.ndarray  # (T, )


def waveform(script: ActivityScript, cycle: np.ndarray) -> np.ndarray:
    """Position along a stroke, 0 at ``start`` and 1 at ``end``.

    Args:
        script (ActivityScript): A ``'stroke'`` or ``'body'`` script.
        cycle (np.ndarray): Phase within the cycle, in ``[0, 1)``.

    Returns:
        np.ndarray: The stroke position, in ``[0, 1]``.
    """
    if script.waveform == 'sine':
        return 0.5 - 0.5 * np.cos(2 * np.pi * cycle)
    if script.waveform == 'saw_back':
        cycle = 1.0 - cycle
    elif script.waveform != 'saw':
        raise ValueError(f'unknown stroke waveform {script.waveform!r}')
    slow = _SAW_SLOW_FRACTION
    return np.where(cycle < slow, cycle / slow, (1.0 - cycle) / (1.0 - slow))


def build_scene_timeline(recording: Recording, frame_size: Tuple[int, int],
                         fps: int) -> SceneTimeline:
    """Per-frame state of the scene of ``recording`` (shared by all views).

    Args:
        recording (Recording): The recording.
        frame_size (tuple[int, int]): ``(height, width)``.
        fps (int): Frame rate; periods are in seconds.

    Returns:
        SceneTimeline: Positions, props, blinking and light per frame.
    """
    rng = np.random.default_rng([recording.seed, 0])
    participant = recording.participant
    num_frames = recording.num_frames
    scale = participant.scale
    anchor = np.array(participant.anchor)
    torso = np.tile(anchor, (num_frames, 1))
    head_sway = 0.015 * scale * _sine(num_frames, rng.uniform(3, 6) * fps, rng)
    head = torso + scale * np.array([0.0, -0.33])
    head[:, 0] += head_sway
    hand = anchor + scale * np.array(PLACES['rest']) + _idle_drift(
        num_frames, 0.02 * scale, rng)
    other_hand = anchor + scale * np.array(_OTHER_HAND_REST) + _idle_drift(
        num_frames, 0.02 * scale, rng)
    prop = np.zeros(num_frames, np.int64)
    for segment in recording.segments:
        script = ACTIVITIES[segment.activity]
        frames = slice(segment.frame_start, segment.frame_end)
        length = segment.frame_end - segment.frame_start
        blend = _blend_weights(length)[:, None]
        period = (script.period * fps / participant.motion_speed *
                  rng.uniform(1 - _PERIOD_JITTER, 1 + _PERIOD_JITTER))
        cycle = _cycle(length, period, rng)
        reach = participant.motion_reach * rng.uniform(1 - _REACH_JITTER,
                                                       1 + _REACH_JITTER)
        body, active = _perform(script, cycle, scale, reach, rng)
        torso[frames] += blend * body
        head[frames] += blend * body
        if script.motion == 'look':
            head[frames, 0] += blend[:, 0] * script.size * scale * np.sin(
                2 * np.pi * cycle)
        hand[frames] += blend * body
        other_hand[frames] += blend * body
        if active is not None:
            target = anchor + body + active
            hand[frames] = (1 - blend) * hand[frames] + blend * target
            if script.both_hands:
                mirrored = target.copy()
                mirrored[:, 0] = 2 * (anchor[0] + body[:, 0]) - target[:, 0]
                other_hand[frames] = ((1 - blend) * other_hand[frames] +
                                      blend * mirrored)
        prop[frames] = PROPS.index(script.prop)
    aspect = frame_size[1] / frame_size[0]
    num_distractors = int(rng.integers(0, 2))
    distractor_xy = np.stack([
        _wandering_path(num_frames, aspect, fps, rng)
        for _ in range(num_distractors)
    ]) if num_distractors else np.zeros((0, num_frames, 2))
    return SceneTimeline(
        torso=torso,
        head=head,
        hand=hand,
        other_hand=other_hand,
        prop=prop,
        distractor_xy=distractor_xy,
        distractor_radius=rng.uniform(0.02, 0.035, num_distractors),
        distractor_color=rng.uniform(0, 255, (num_distractors, 3)),
        blink_on=_sine(num_frames, rng.uniform(0.4, 1.2) * fps, rng) > 0,
        light=participant.light_gain *
        (1 + 0.04 * _sine(num_frames, rng.uniform(1, 4) * fps, rng)))


def _perform(script: ActivityScript, cycle: np.ndarray, scale: float,
             reach: float, rng: np.random.Generator
             ) -> Tuple[np.ndarray, np.ndarray]:
    """One performance of ``script``.

    Returns:
        tuple: The ``(T, 2)`` offset of the whole body, and the ``(T, 2)``
        position of the active hand relative to the seated torso centre (None
        when the hand stays at rest).
    """
    zeros = np.zeros((len(cycle), 2))
    start = scale * (np.array(PLACES[script.start]) +
                     rng.uniform(-0.02, 0.02, 2))
    end = scale * (np.array(PLACES[script.end]) + rng.uniform(-0.02, 0.02, 2))
    if script.motion == 'stroke':
        along = waveform(script, cycle)[:, None]
        return zeros, start + reach * (end - start) * along
    if script.motion == 'circle':
        sense = {'cw': 1.0, 'ccw': -1.0}[script.waveform]
        angle = sense * 2 * np.pi * cycle
        radius = script.size * scale * reach
        return zeros, start + radius * np.stack(
            [np.cos(angle), np.sin(angle)], axis=1)
    if script.motion == 'hold':
        jitter = script.size * scale * np.stack([
            np.sin(2 * np.pi * cycle + rng.uniform(0, 2 * np.pi)),
            np.sin(2 * np.pi * 1.7 * cycle + rng.uniform(0, 2 * np.pi))
        ], axis=1)
        return zeros, start + jitter
    if script.motion == 'body':
        away = 1.0 - waveform(script, cycle)[:, None]
        return reach * start * away, None
    if script.motion == 'look':
        sway = 0.4 * script.size * scale * np.sin(2 * np.pi * cycle)
        return np.stack([sway, np.zeros_like(sway)], axis=1), None
    if script.motion == 'still':
        return zeros, None
    raise ValueError(f'unknown motion {script.motion!r}')


def _cycle(length: int, period: float, rng: np.random.Generator) -> np.ndarray:
    """Phase within the cycle per frame: a random start, a wobbling speed."""
    time = np.arange(length)
    periods = rng.uniform(0.7, 2.0, 2) * period
    phases = rng.uniform(0, 2 * np.pi, 2)
    wobble = sum(np.sin(2 * np.pi * time / p + q)
                 for p, q in zip(periods, phases)) / 2
    phase = rng.uniform() + np.cumsum(1.0 + _SPEED_WOBBLE * wobble) / period
    return np.mod(phase, 1.0)


def _blend_weights(length: int) -> np.ndarray:
    """0 -> 1 at the start of a segment and 1 -> 0 at its end (smoothstep)."""
    ramp = min(_BLEND_FRAMES, length // 4)
    weights = np.ones(length)
    if ramp:
        x = (np.arange(ramp) + 1) / (ramp + 1)
        rise = x * x * (3 - 2 * x)
        weights[:ramp] = rise
        weights[length - ramp:] = rise[::-1]
    return weights


def _sine(num_frames: int, period: float,
          rng: np.random.Generator) -> np.ndarray:
    """A sine of ``period`` frames at a random phase."""
    return np.sin(2 * np.pi * np.arange(num_frames) / period +
                  rng.uniform(0, 2 * np.pi))


def _idle_drift(num_frames: int, reach: float,
                rng: np.random.Generator) -> np.ndarray:
    """A slow bounded random walk, (T, 2), for a hand at rest."""
    steps = rng.standard_normal((num_frames, 2)) * reach * 0.1
    return np.clip(np.cumsum(steps, axis=0), -reach, reach)


def _wandering_path(num_frames: int, aspect: float, fps: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(T, 2) smooth path of a distractor over the whole frame."""
    time = np.arange(num_frames)
    coords = []
    for extent in (aspect, 1.0):
        periods = rng.uniform(3.0, 8.0, 2) * fps
        phases = rng.uniform(0, 2 * np.pi, 2)
        wave = sum(np.sin(2 * np.pi * time / p + q)
                   for p, q in zip(periods, phases)) / 2
        coords.append(extent * (0.5 + 0.4 * wave))
    return np.stack(coords, axis=1)

