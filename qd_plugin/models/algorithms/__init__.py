from .quant_distill import QuantDistill
from .strict_mm_architecture_quant import StrictMMArchitectureQuant

__all__ = ['QuantDistill', 'StrictMMArchitectureQuant']
