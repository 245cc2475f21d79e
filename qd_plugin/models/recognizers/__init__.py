from .traceable_recognizer3d import TraceableRecognizer3D

__all__ = ['TraceableRecognizer3D']
