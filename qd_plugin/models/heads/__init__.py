from .traceable_head_mixin import TraceableHeadMixin
from .traceable_i3d_head import TraceableI3DHead
from .traceable_slowfast_head import TraceableSlowFastHead
from .traceable_tsm_head import TraceableTSMHead
from .traceable_tsn_head import TraceableTSNHead
from .traceable_x3d_head import TraceableX3DHead

__all__ = [
    'TraceableHeadMixin', 'TraceableI3DHead', 'TraceableSlowFastHead',
    'TraceableTSMHead', 'TraceableTSNHead', 'TraceableX3DHead'
]
