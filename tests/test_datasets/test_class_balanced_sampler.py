from collections import Counter
from unittest import mock

import pytest

from qd_plugin.datasets import ClassBalancedSampler


class LabelledDataset:

    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, idx):
        return dict(label=self.labels[idx])


IMBALANCED = LabelledDataset([0] * 90 + [1] * 9 + [2] * 1)


def draw(sampler, epochs):
    indices = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        indices.extend(sampler)
    return indices


def test_classes_are_drawn_about_equally_often():
    sampler = ClassBalancedSampler(IMBALANCED, seed=0)
    assert len(sampler) == 100
    labels = Counter(IMBALANCED.labels[i] for i in draw(sampler, 30))
    for label in range(3):
        assert labels[label] / 3000 == pytest.approx(1 / 3, abs=0.03)


def test_same_seed_same_order_and_epochs_differ():
    first = ClassBalancedSampler(IMBALANCED, seed=3)
    second = ClassBalancedSampler(IMBALANCED, seed=3)
    assert list(first) == list(second)
    epoch0 = list(first)
    first.set_epoch(1)
    assert list(first) != epoch0


def test_ranks_split_one_shared_draw():
    whole = list(ClassBalancedSampler(IMBALANCED, seed=5))
    per_rank = []
    for rank in range(2):
        with mock.patch(
                'qd_plugin.datasets.samplers.class_balanced_sampler.'
                'get_dist_info', return_value=(rank, 2)):
            per_rank.append(list(ClassBalancedSampler(IMBALANCED, seed=5)))
    assert [len(r) for r in per_rank] == [50, 50]
    assert per_rank[0] == whole[0::2] and per_rank[1] == whole[1::2]


class LabelledItems(LabelledDataset):
    """Each sample is its label."""

    def __getitem__(self, idx):
        return self.labels[idx]


def test_runner_dataloader_from_a_config_draws_balanced_batches():
    """The Runner builds the sampler from its config name, giving it the
    dataset and the run's seed: its batches are class-balanced and
    reproducible."""
    from mmengine.runner import Runner

    def labels_drawn(seed):
        loader = Runner.build_dataloader(
            dict(
                batch_size=10,
                num_workers=0,
                sampler=dict(type='ClassBalancedSampler'),
                dataset=LabelledItems(IMBALANCED.labels)),
            seed=seed)
        drawn = []
        for epoch in range(30):
            loader.sampler.set_epoch(epoch)
            for batch in loader:
                drawn.extend(batch)
        return drawn

    drawn = labels_drawn(seed=7)
    assert len(drawn) == 3000
    counts = Counter(drawn)
    for label in range(3):
        assert counts[label] / 3000 == pytest.approx(1 / 3, abs=0.03)
    assert labels_drawn(seed=7) == drawn
    assert labels_drawn(seed=8) != drawn


def test_epoch_length_sets_the_samples_per_epoch():
    sampler = ClassBalancedSampler(IMBALANCED, seed=0, epoch_length=30)
    assert len(sampler) == 30 and len(list(sampler)) == 30
    assert max(sampler) < len(IMBALANCED)
    with pytest.raises(ValueError, match='epoch_length must be at least 1'):
        ClassBalancedSampler(IMBALANCED, epoch_length=0)
