from .epoch_seed_hook import EpochSeedHook, epoch_seed
from .precise_bn_hook import PreciseBNHook

__all__ = ['EpochSeedHook', 'PreciseBNHook', 'epoch_seed']
