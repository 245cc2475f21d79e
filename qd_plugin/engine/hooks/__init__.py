from .check_invalid_loss_hook import CheckInvalidLossHook, InvalidLossError
from .epoch_seed_hook import EpochSeedHook, epoch_seed
from .precise_bn_hook import PreciseBNHook

__all__ = [
    'CheckInvalidLossHook', 'EpochSeedHook', 'InvalidLossError',
    'PreciseBNHook', 'epoch_seed'
]
