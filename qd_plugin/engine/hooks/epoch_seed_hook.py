"""Random state that depends only on the seed, the epoch and the rank."""
import logging
import random
from functools import partial

import numpy as np
import torch
from mmengine.dataset import worker_init_fn as default_worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A 32-bit seed mixed from the run's seed, the epoch and the rank."""
    entropy = [int(seed) % 2**63, int(epoch), int(rank)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed ``random``, NumPy and torch before every training epoch.

    The Runner seeds them once, when it is built, so the data augmentation
    and dropout of epoch ``k`` depend on everything drawn before: a run
    resumed at epoch ``k`` draws other numbers than an uninterrupted one.
    With this hook they depend only on ``(randomness.seed, epoch, rank)``,
    and resuming reproduces the uninterrupted run.

    The data workers: MMEngine seeds them with the same seeds at every epoch;
    here non-persistent workers get the epoch's seeds (different augmentation
    every epoch, reproducible). Persistent workers keep their random state
    across epochs, which a resumed run cannot restore: set
    ``persistent_workers=False`` on the train dataloader for exact resumption
    (a warning says so).
    """

    priority = 'LOWEST'  # last before the epoch draws its first batch

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.num_workers > 0 and loader.persistent_workers:
            print_log(
                'train_dataloader.persistent_workers=True: the data workers '
                'keep their random state across epochs, so a resumed run '
                'augments differently from an uninterrupted one; set it to '
                'False for exact resumption',
                logger='current',
                level=logging.WARNING)

    def before_train_epoch(self, runner) -> None:
        rank = get_rank()
        seed = epoch_seed(runner.seed, runner.epoch, rank)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        loader = runner.train_dataloader
        init_fn = loader.worker_init_fn
        if isinstance(init_fn, partial) and \
                init_fn.func is default_worker_init_fn:
            loader.worker_init_fn = partial(init_fn, seed=seed)
