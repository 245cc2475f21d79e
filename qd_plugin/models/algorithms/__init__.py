from .quant_distill import QuantDistill
from .strict_mm_architecture_quant import StrictMMArchitectureQuant
from .strict_single_teacher_distill import StrictSingleTeacherDistill
from .teacher import TeacherInputs, build_teacher

__all__ = [
    'QuantDistill', 'StrictMMArchitectureQuant', 'StrictSingleTeacherDistill',
    'TeacherInputs', 'build_teacher'
]
