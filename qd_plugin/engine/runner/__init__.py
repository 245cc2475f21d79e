from .distill_val_loop import DistillValLoop
from .qat_int8_test_loop import QATInt8TestLoop

__all__ = ['DistillValLoop', 'QATInt8TestLoop']
