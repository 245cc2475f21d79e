"""The activity scripts of the synthetic driver."""
import numpy as np
import pytest

from qd_plugin.datasets import DRIVEACT_MIDLEVEL_CLASSES
from qd_plugin.synthetic import (ACTIVITIES, CLASS_ORDER, PLACES,
                                 synthetic_classes)
from qd_plugin.synthetic.motion import PROPS, waveform


def test_every_midlevel_class_has_one_script_and_a_place_in_the_order():
    assert sorted(ACTIVITIES) == sorted(DRIVEACT_MIDLEVEL_CLASSES)
    assert sorted(CLASS_ORDER) == sorted(DRIVEACT_MIDLEVEL_CLASSES)
    for script in ACTIVITIES.values():
        assert script.start in PLACES and script.end in PLACES
        assert script.prop in PROPS


def test_synthetic_classes_are_a_prefix_of_the_order():
    assert synthetic_classes(8) == CLASS_ORDER[:8]
    for bad in (0, 35):
        with pytest.raises(ValueError, match=r'num_classes must be in \[1, 34'):
            synthetic_classes(bad)


@pytest.mark.parametrize('forward, backward', [
    ('fastening_seat_belt', 'unfastening_seat_belt'),
    ('opening_laptop', 'closing_laptop'),
    ('entering_car', 'exiting_car'),
])
def test_pairs_are_the_same_stroke_played_backwards(forward, backward):
    cycle = np.linspace(0, 1, 50, endpoint=False)
    a, b = ACTIVITIES[forward], ACTIVITIES[backward]
    assert (a.start, a.end, a.period, a.prop) == (b.start, b.end, b.period,
                                                  b.prop)
    np.testing.assert_allclose(waveform(b, cycle), waveform(a, 1 - cycle))
    # Not a symmetric motion: slow one way, fast the other.
    speed = np.abs(np.diff(waveform(a, cycle)))
    assert speed.max() > 2 * np.median(speed)
