from .quant_distill import QuantDistill
from .strict_mm_architecture_quant import StrictMMArchitectureQuant
from .teacher import TeacherInputs, build_teacher

__all__ = [
    'QuantDistill', 'StrictMMArchitectureQuant', 'TeacherInputs',
    'build_teacher'
]
