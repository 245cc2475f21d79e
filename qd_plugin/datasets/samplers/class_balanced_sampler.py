import math
from collections import Counter
from typing import Iterator, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draw samples with probability inversely proportional to the frequency
    of their class, so every class is seen about equally often.

    Indices are drawn with replacement; an epoch has as many samples as the
    dataset unless ``epoch_length`` says otherwise. In distributed training
    every rank draws the same sequence from the shared seed and keeps every
    ``world_size``-th index, so ranks see disjoint positions of it.

    Args:
        dataset (Sized): The dataset; ``get_data_info(i)['label']`` must give
            the class of sample ``i``.
        seed (int, optional): Random seed; synchronized across ranks when
            None. Defaults to None.
        epoch_length (int, optional): Samples per epoch over all ranks, e.g.
            to validate more often than once per pass over a large dataset.
            Defaults to the dataset's length.
    """

    def __init__(self,
                 dataset: Sized,
                 seed: Optional[int] = None,
                 epoch_length: Optional[int] = None) -> None:
        if epoch_length is not None and epoch_length < 1:
            raise ValueError(
                f'epoch_length must be at least 1, got {epoch_length}')
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        labels = [
            int(dataset.get_data_info(i)['label']) for i in range(len(dataset))
        ]
        counts = Counter(labels)
        self.weights = torch.tensor([1.0 / counts[label] for label in labels],
                                    dtype=torch.double)
        self.num_samples = math.ceil((epoch_length or len(dataset)) /
                                     world_size)
        self.total_size = self.num_samples * world_size

    def __iter__(self) -> Iterator[int]:
        """Iterate over this rank's indices of the current epoch."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        indices = torch.multinomial(
            self.weights, self.total_size, replacement=True,
            generator=generator).tolist()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        """Number of indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use a different draw each epoch (the runner calls this)."""
        self.epoch = epoch
