from .traceable_temporal_shift import TraceableTemporalShift

__all__ = ['TraceableTemporalShift']
