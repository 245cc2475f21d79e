from .quant_distill import QuantDistill

__all__ = ['QuantDistill']
