"""Tie-aware top-1 agreement (the int8 parity criterion) on hand-made
class scores."""
import numpy as np
import pytest

from qd_plugin.deploy.parity import (MAX_TIE_MARGIN, ParityError,
                                     check_agreement, near_tie_flips,
                                     tie_margin)

NUM_CLASSES = 5


def probabilities(top: int, top_prob: float, second: int = None,
                  second_prob: float = 0.0) -> np.ndarray:
    """One sample's class probabilities: ``top`` and ``second`` as given,
    the rest share what is left."""
    probs = np.zeros(NUM_CLASSES)
    probs[top] = top_prob
    others = [c for c in range(NUM_CLASSES) if c not in (top, second)]
    if second is not None:
        probs[second] = second_prob
    probs[others] = (1 - probs.sum()) / len(others)
    return probs


def confident_samples() -> np.ndarray:
    return np.stack([probabilities(c, 0.8) for c in (0, 1, 2)])


def with_last(first: np.ndarray, sample: np.ndarray) -> np.ndarray:
    return np.concatenate([first, sample[None]])


def test_a_near_tie_flip_passes():
    """A near-uniform sample whose top-1/top-2 swap by rounding noise counts
    as agreement; plain agreement would be 75%."""
    reference = with_last(confident_samples(),
                          probabilities(3, 0.30, 4, 0.29))
    candidate = with_last(confident_samples(),
                          probabilities(4, 0.30, 3, 0.29))
    flips = near_tie_flips(np.log(reference), np.log(candidate), atol=0.3)
    assert flips.tolist() == [False, False, False, True]
    parity = check_agreement('int8', reference, candidate, 0.9, 0.3,
                             probabilities=True)
    assert parity.top1_agreement == 0.75
    assert parity.near_tie_flips == 1 and parity.tie_aware_agreement == 1.0
    assert '1 near-tie flip(s)' in parity.describe_agreement()
    assert parity.to_dict()['tie_aware_agreement'] == 1.0


def test_a_real_disagreement_fails():
    """The reference is confident: the flip is no tie, whatever the noise
    allowed."""
    reference = with_last(confident_samples(),
                          probabilities(3, 0.80, 4, 0.10))
    candidate = with_last(confident_samples(),
                          probabilities(4, 0.80, 3, 0.10))
    with pytest.raises(ParityError, match='tie-aware agreement 75%'):
        check_agreement('int8', reference, candidate, 0.9, 0.3,
                        probabilities=True)
    # The fixed bound: a huge tolerance does not excuse it either.
    assert tie_margin(100.0) == MAX_TIE_MARGIN
    with pytest.raises(ParityError, match='minimum 90%'):
        check_agreement('int8', reference, candidate, 0.9, 100.0,
                        probabilities=True)


def test_a_near_tie_flip_with_scores_moved_beyond_noise_fails():
    """Tied classes, but the runtime moved the other scores far more than
    rounding noise can (a wrong model on near-uniform outputs)."""
    reference = with_last(confident_samples(),
                          probabilities(3, 0.30, 4, 0.29))
    candidate = with_last(
        confident_samples(),
        np.array([0.01, 0.01, 0.30, 0.30, 0.38]))  # class 4 on top
    assert not near_tie_flips(
        np.log(reference), np.log(candidate), atol=0.3).any()
    with pytest.raises(ParityError, match='0 near-tie flip'):
        check_agreement('int8', reference, candidate, 0.9, 0.3,
                        probabilities=True)


def test_agreement_on_scores_and_exact_match():
    """Heads that do not average probabilities are compared on the scores;
    equal outputs agree fully."""
    scores = np.array([[1.0, 0.95, -1.0], [2.0, 0.0, 0.0]])
    flipped = np.array([[0.95, 1.0, -1.0], [2.0, 0.0, 0.0]])
    parity = check_agreement('int8', scores, flipped, 1.0, 0.1,
                             probabilities=False)
    assert parity.scale == 'score' and parity.near_tie_flips == 1
    parity = check_agreement('int8', scores, scores, 1.0, 0.0,
                             probabilities=False)
    assert parity.top1_agreement == 1.0 and parity.near_tie_flips == 0
