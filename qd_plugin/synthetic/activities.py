"""How the synthetic driver performs each Drive&Act midlevel activity.

An activity is a periodic motion of the driver's active hand (the left one in
the image) between places of the car and body, often with a prop in the hand,
so that any window of a segment shows the whole cue. Places are offsets from
the centre of the torso in units of the participant's size (x to the right of
the image, y down). Three kinds of difference make the task graded:

* where the hand works and what it holds: visible in a single frame;
* how fast it moves (``period``): visible between frames;
* the direction of time: ``'saw'`` moves slowly from ``start`` to ``end``
  and snaps back, ``'saw_back'`` is the same motion played backwards, and
  ``'cw'``/``'ccw'`` circles differ only by their sense. Pairs such as
  opening/closing a bottle or fastening/unfastening the seat belt differ by
  nothing else.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

Point = Tuple[float, float]

#: Places the active hand works at, relative to the torso centre.
PLACES: Dict[str, Point] = {
    'rest': (-0.12, 0.2),  # on the steering wheel
    'chest': (-0.03, -0.04),
    'mouth': (0.0, -0.24),
    'ear': (-0.12, -0.33),
    'eyes': (-0.02, -0.36),
    'lap': (0.0, 0.27),
    'lap_high': (0.0, 0.12),
    'belt_top': (-0.17, -0.22),
    'belt_bottom': (0.16, 0.24),
    'door': (-0.4, 0.05),
    'window': (-0.4, -0.3),
    'outside': (-0.5, -0.05),
    'dashboard': (0.34, -0.06),
    'dashboard_left': (0.2, -0.1),
    'dashboard_right': (0.4, -0.1),
    'passenger': (0.4, 0.22),
    'back_seat': (-0.3, -0.42),
    'shoulder': (-0.15, -0.2),
    'behind_shoulder': (-0.32, -0.26),
}


@dataclass(frozen=True)
class ActivityScript:
    """The motion that defines one activity.

    Args:
        motion (str): ``'stroke'`` (between ``start`` and ``end``),
            ``'circle'`` (around ``start``, radius ``size``), ``'hold'``
            (at ``start``, jittering by ``size``), ``'body'`` (the whole
            driver moves between ``start`` and the seat), ``'look'`` (head
            and torso sway by ``size``) or ``'still'``.
        start (str): A key of :data:`PLACES`.
        end (str): The other end of a stroke.
        waveform (str): ``'sine'``, ``'saw'``, ``'saw_back'`` for strokes,
            ``'cw'``/``'ccw'`` for circles.
        period (float): Seconds per cycle.
        size (float): Radius of a circle, jitter of a hold, sway of a look.
        prop (str): What the hand holds or works on (see ``render.py``), or
            ``''``.
        both_hands (bool): The other hand mirrors the active one.
    """
    motion: str
    start: str = 'rest'
    end: str = 'rest'
    waveform: str = 'sine'
    period: float = 1.0
    size: float = 0.0
    prop: str = ''
    both_hands: bool = False


def _stroke(start: str, end: str, waveform: str, period: float,
            prop: str = '', both_hands: bool = False) -> ActivityScript:
    return ActivityScript('stroke', start, end, waveform, period, 0.0, prop,
                          both_hands)


def _circle(center: str, sense: str, period: float, radius: float,
            prop: str = '', both_hands: bool = False) -> ActivityScript:
    return ActivityScript('circle', center, center, sense, period, radius,
                          prop, both_hands)


def _hold(place: str, jitter: float, period: float, prop: str = '',
          both_hands: bool = False) -> ActivityScript:
    return ActivityScript('hold', place, place, 'sine', period, jitter, prop,
                          both_hands)


ACTIVITIES: Dict[str, ActivityScript] = {
    'drinking': _stroke('chest', 'mouth', 'sine', 1.1, 'bottle'),
    'eating': _stroke('chest', 'mouth', 'sine', 0.55, 'food'),
    'talking_on_phone': _hold('ear', 0.02, 1.5, 'phone'),
    'interacting_with_phone': _hold('lap_high', 0.05, 0.4, 'phone'),
    'fastening_seat_belt': _stroke('belt_top', 'belt_bottom', 'saw', 1.0,
                                   'belt'),
    'unfastening_seat_belt': _stroke('belt_top', 'belt_bottom', 'saw_back',
                                     1.0, 'belt'),
    'opening_bottle': _circle('chest', 'cw', 0.8, 0.13, 'bottle'),
    'closing_bottle': _circle('chest', 'ccw', 0.8, 0.13, 'bottle'),
    'opening_door_inside': _stroke('rest', 'door', 'saw', 1.2),
    'closing_door_inside': _stroke('rest', 'door', 'saw_back', 1.2),
    'opening_door_outside': _stroke('outside', 'window', 'saw', 1.2),
    'closing_door_outside': _stroke('outside', 'window', 'saw_back', 1.2),
    'opening_laptop': _stroke('lap', 'lap_high', 'saw', 1.0, 'laptop'),
    'closing_laptop': _stroke('lap', 'lap_high', 'saw_back', 1.0, 'laptop'),
    'working_on_laptop': _hold('lap', 0.04, 0.3, 'laptop_open',
                               both_hands=True),
    'putting_on_sunglasses': _stroke('chest', 'eyes', 'saw', 1.0,
                                     'sunglasses'),
    'taking_off_sunglasses': _stroke('chest', 'eyes', 'saw_back', 1.0,
                                     'sunglasses'),
    'putting_on_jacket': _stroke('behind_shoulder', 'shoulder', 'saw', 1.3,
                                 'jacket', both_hands=True),
    'taking_off_jacket': _stroke('behind_shoulder', 'shoulder', 'saw_back',
                                 1.3, 'jacket', both_hands=True),
    'putting_laptop_into_backpack': _stroke('lap', 'passenger', 'saw', 1.4,
                                            'laptop_in_hand'),
    'taking_laptop_from_backpack': _stroke('lap', 'passenger', 'saw_back',
                                           1.4, 'laptop_in_hand'),
    'entering_car': ActivityScript('body', 'outside', waveform='saw',
                                   period=1.5),
    'exiting_car': ActivityScript('body', 'outside', waveform='saw_back',
                                  period=1.5),
    'fetching_an_object': _stroke('rest', 'back_seat', 'sine', 1.4, 'box'),
    'placing_an_object': _stroke('rest', 'passenger', 'sine', 1.4, 'box'),
    'looking_or_moving_around (e.g. searching)': ActivityScript(
        'look', waveform='sine', period=1.2, size=0.1),
    'opening_backpack': _circle('passenger', 'cw', 0.7, 0.08, 'backpack'),
    'preparing_food': _circle('lap_high', 'ccw', 0.6, 0.07, 'food',
                              both_hands=True),
    'pressing_automation_button': _stroke('chest', 'dashboard', 'saw', 0.6),
    'using_multimedia_display': _stroke('dashboard_left', 'dashboard_right',
                                        'sine', 0.8),
    'reading_magazine': _hold('lap_high', 0.015, 2.0, 'magazine',
                              both_hands=True),
    'reading_newspaper': _hold('chest', 0.015, 2.0, 'newspaper',
                               both_hands=True),
    'sitting_still': ActivityScript('still'),
    'writing': _stroke('lap', 'lap_high', 'sine', 0.35, 'paper'),
}

#: Which activities a dataset of ``num_classes`` classes uses: the first
#: ``num_classes`` of this order. The first eight mix cues of every kind:
#: four told apart by place and prop alone (``talking_on_phone``,
#: ``interacting_with_phone``, ``opening_door_inside``,
#: ``using_multimedia_display``), two that share place and path and differ by
#: speed and prop (``drinking``, ``eating``), and a pair that differs only by
#: the direction of time (fastening and unfastening the seat belt).
CLASS_ORDER: Tuple[str, ...] = (
    'drinking', 'eating', 'talking_on_phone', 'interacting_with_phone',
    'fastening_seat_belt', 'unfastening_seat_belt', 'opening_door_inside',
    'using_multimedia_display', 'opening_bottle', 'closing_bottle',
    'closing_door_inside',
    'opening_laptop', 'closing_laptop', 'putting_on_sunglasses',
    'taking_off_sunglasses', 'entering_car', 'exiting_car',
    'putting_on_jacket', 'taking_off_jacket', 'opening_door_outside',
    'closing_door_outside', 'putting_laptop_into_backpack',
    'taking_laptop_from_backpack', 'working_on_laptop', 'fetching_an_object',
    'placing_an_object', 'looking_or_moving_around (e.g. searching)',
    'opening_backpack', 'preparing_food', 'pressing_automation_button',
    'reading_magazine', 'reading_newspaper',
    'sitting_still', 'writing')

def synthetic_classes(num_classes: int) -> Tuple[str, ...]:
    """The activities of a synthetic dataset with ``num_classes`` classes.

    Args:
        num_classes (int): 1 to 34.

    Returns:
        tuple[str]: The first ``num_classes`` entries of
        :data:`CLASS_ORDER`.
    """
    if not 1 <= num_classes <= len(CLASS_ORDER):
        raise ValueError(f'num_classes must be in [1, {len(CLASS_ORDER)}], '
                         f'got {num_classes}')
    return CLASS_ORDER[:num_classes]
