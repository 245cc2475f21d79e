from .checkpoint_safe_runner import CheckpointSafeRunner
from .distill_val_loop import DistillValLoop
from .qat_int8_test_loop import QATInt8TestLoop
from .qat_val_loop import QATMergedValLoop

__all__ = [
    'CheckpointSafeRunner', 'DistillValLoop', 'QATInt8TestLoop',
    'QATMergedValLoop'
]
