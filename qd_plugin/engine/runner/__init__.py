from .qat_int8_test_loop import QATInt8TestLoop

__all__ = ['QATInt8TestLoop']
