from .traceable_i3d_head import TraceableI3DHead

__all__ = ['TraceableI3DHead']
