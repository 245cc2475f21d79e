from .traceable_recognizer2d import TraceableRecognizer2D
from .traceable_recognizer3d import TraceableRecognizer3D
from .traceable_recognizer_mixin import TraceableRecognizerMixin

__all__ = [
    'TraceableRecognizer2D', 'TraceableRecognizer3D',
    'TraceableRecognizerMixin'
]
