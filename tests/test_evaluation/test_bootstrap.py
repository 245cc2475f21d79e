"""Bootstrap intervals of the mean class accuracy."""
import numpy as np
import pytest

from qd_plugin.evaluation.bootstrap import (bootstrap_mean_class_accuracy,
                                            mean_class_accuracy,
                                            paired_bootstrap_difference,
                                            top1_agreement)

# True per-class accuracies of the simulated models: their mean is known.
TRUE_ACCURACY = np.linspace(0.45, 0.9, 8)
CLIPS_PER_CLASS = 40


def simulate(rng, shift=0.0):
    """Labels and two correlated models' predictions; model B is right on a
    subset of model A's right clips, ``shift`` less often per class."""
    labels = np.repeat(np.arange(len(TRUE_ACCURACY)), CLIPS_PER_CLASS)
    u = rng.uniform(size=len(labels))
    wrong = (labels + 1) % len(TRUE_ACCURACY)
    preds_a = np.where(u < TRUE_ACCURACY[labels], labels, wrong)
    preds_b = np.where(u < TRUE_ACCURACY[labels] - shift, labels, wrong)
    return labels, preds_a, preds_b


def test_mean_class_accuracy_weighs_classes_equally():
    labels = [0, 0, 0, 1]
    assert mean_class_accuracy(labels, [0, 0, 0, 0]) == pytest.approx(0.5)
    assert mean_class_accuracy(labels, [1, 1, 1, 1]) == pytest.approx(0.5)


def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    trials, covered = 200, 0
    for trial in range(trials):
        labels, preds, _ = simulate(rng)
        interval = bootstrap_mean_class_accuracy(
            labels, preds, num_samples=400, seed=trial)
        assert interval.low <= interval.estimate <= interval.high
        covered += interval.low <= TRUE_ACCURACY.mean() <= interval.high
    assert 0.89 <= covered / trials <= 0.99


def test_paired_interval_covers_the_true_difference_and_is_narrow():
    rng = np.random.default_rng(1)
    shift, trials, covered = 0.05, 200, 0
    widths, unpaired_widths = [], []
    for trial in range(trials):
        labels, preds_a, preds_b = simulate(rng, shift)
        difference = paired_bootstrap_difference(
            labels, preds_a, preds_b, num_samples=400, seed=trial)
        covered += difference.low <= shift <= difference.high
        widths.append(difference.half_width)
        a, b = (bootstrap_mean_class_accuracy(labels, p, num_samples=400)
                for p in (preds_a, preds_b))
        unpaired_widths.append(np.hypot(a.half_width, b.half_width))
    assert 0.89 <= covered / trials <= 0.99
    # What both models get right or wrong together cancels out.
    assert np.mean(widths) < 0.6 * np.mean(unpaired_widths)


def test_significance_is_read_from_the_interval():
    rng = np.random.default_rng(2)
    labels, preds_a, preds_b = simulate(rng, shift=0.3)
    assert paired_bootstrap_difference(labels, preds_a, preds_b).excludes(0)
    assert not paired_bootstrap_difference(labels, preds_a,
                                           preds_a).excludes(0)


def test_models_must_be_compared_on_the_same_clips():
    with pytest.raises(ValueError, match='3 predictions for 4 labels'):
        paired_bootstrap_difference([0, 1, 0, 1], [0, 1, 0, 1], [0, 1, 0])
    assert top1_agreement([0, 1, 2, 2], [0, 1, 2, 0]) == 0.75
    with pytest.raises(ValueError, match='same clips'):
        top1_agreement([0, 1], [0])
