"""Confidence intervals of the mean class accuracy, by bootstrap over clips.

Clips are resampled with replacement within each ground-truth class, so that
every resample has the split's class supports (the metric averages per-class
accuracies, and the supports are fixed by the split). A paired comparison
resamples the same clips for both models, so that what they have in common
cancels out.
"""
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval."""
    estimate: float
    low: float
    high: float
    level: float

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2

    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the interval (e.g. a difference
        that is significant at this level)."""
        return not self.low <= value <= self.high


def mean_class_accuracy(labels: Sequence[int], preds: Sequence[int]) -> float:
    """Mean over the ground-truth classes of the share of right predictions.

    Args:
        labels (Sequence[int]): Ground truth per clip.
        preds (Sequence[int]): Predicted class per clip.

    Returns:
        float: The mean class accuracy.
    """
    labels, preds = np.asarray(labels), np.asarray(preds)
    return float(
        np.mean([np.mean(preds[labels == c] == c) for c in np.unique(labels)]))


def _resampled_class_accuracies(labels: np.ndarray, correct: np.ndarray,
                                num_samples: int,
                                rng: np.random.Generator) -> np.ndarray:
    """``(num_samples, *correct.shape[1:])`` mean class accuracies of
    class-stratified resamples; ``correct`` is ``(clips, ...)`` of 0/1."""
    per_class = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        draws = rng.integers(0, len(members), (num_samples, len(members)))
        per_class.append(correct[members[draws]].mean(axis=1))
    return np.mean(per_class, axis=0)


def _interval(estimate: float, samples: np.ndarray,
              level: float) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), level)


def _check(labels: np.ndarray, *preds: np.ndarray) -> None:
    if labels.ndim != 1 or not len(labels):
        raise ValueError('labels must be a non-empty 1-d sequence')
    for p in preds:
        if p.shape != labels.shape:
            raise ValueError(f'{len(p)} predictions for {len(labels)} labels: '
                             'models must be compared on the same clips')


def bootstrap_mean_class_accuracy(labels: Sequence[int],
                                  preds: Sequence[int],
                                  num_samples: int = 2000,
                                  level: float = 0.95,
                                  seed: int = 0) -> Interval:
    """Mean class accuracy with its bootstrap interval.

    Args:
        labels (Sequence[int]): Ground truth per clip.
        preds (Sequence[int]): Predicted class per clip.
        num_samples (int): Bootstrap resamples. Defaults to 2000.
        level (float): Coverage of the interval. Defaults to 0.95.
        seed (int): Seed of the resampling. Defaults to 0.

    Returns:
        Interval: The estimate and its interval.
    """
    labels, preds = np.asarray(labels), np.asarray(preds)
    _check(labels, preds)
    samples = _resampled_class_accuracies(
        labels, (preds == labels).astype(np.float64), num_samples,
        np.random.default_rng(seed))
    return _interval(mean_class_accuracy(labels, preds), samples, level)


def paired_bootstrap_difference(labels: Sequence[int],
                                preds_a: Sequence[int],
                                preds_b: Sequence[int],
                                num_samples: int = 2000,
                                level: float = 0.95,
                                seed: int = 0) -> Interval:
    """Mean class accuracy of model A minus that of model B on the same clips,
    with its paired bootstrap interval.

    Args:
        labels (Sequence[int]): Ground truth per clip.
        preds_a (Sequence[int]): Model A's predicted class per clip.
        preds_b (Sequence[int]): Model B's predicted class per clip, in the
            same clip order.
        num_samples (int): Bootstrap resamples. Defaults to 2000.
        level (float): Coverage of the interval. Defaults to 0.95.
        seed (int): Seed of the resampling. Defaults to 0.

    Returns:
        Interval: The difference (A - B) and its interval.
    """
    labels = np.asarray(labels)
    preds_a, preds_b = np.asarray(preds_a), np.asarray(preds_b)
    _check(labels, preds_a, preds_b)
    correct = np.stack([preds_a == labels, preds_b == labels],
                       axis=1).astype(np.float64)
    samples = _resampled_class_accuracies(labels, correct, num_samples,
                                          np.random.default_rng(seed))
    estimate = (mean_class_accuracy(labels, preds_a) -
                mean_class_accuracy(labels, preds_b))
    return _interval(estimate, samples[:, 0] - samples[:, 1], level)


def top1_agreement(preds_a: Sequence[int], preds_b: Sequence[int]) -> float:
    """Share of clips on which two models predict the same class."""
    preds_a, preds_b = np.asarray(preds_a), np.asarray(preds_b)
    if preds_a.shape != preds_b.shape or not len(preds_a):
        raise ValueError('agreement needs predictions of the same clips')
    return float(np.mean(preds_a == preds_b))
