from typing import Tuple

import torch
from mmaction.models.heads import SlowFastHead
from mmaction.registry import MODELS

from .traceable_head_mixin import TraceableHeadMixin


@MODELS.register_module()
class TraceableSlowFastHead(TraceableHeadMixin, SlowFastHead):
    """:class:`SlowFastHead` that ``torch.fx`` traces for quantization.

    Same parameters, state-dict keys, scores, losses and predictions as
    ``SlowFastHead``; the features are flattened with ``flatten(1)``
    instead of ``view(x.size(0), -1)``, and ``loss``/``predict`` come from
    :class:`TraceableHeadMixin`.

    Args: see :class:`mmaction.models.heads.SlowFastHead`.
    """

    def forward(self, x: Tuple[torch.Tensor, torch.Tensor],
                **kwargs) -> torch.Tensor:
        """Pool both pathways, concatenate (fast first), classify.

        Args:
            x (tuple[torch.Tensor]): Slow and fast features,
                (N, C_slow, T1, H, W) and (N, C_fast, T2, H, W).

        Returns:
            torch.Tensor: The class scores (logits), (N, num_classes).
        """
        x_slow, x_fast = x
        x = torch.cat((self.avg_pool(x_fast), self.avg_pool(x_slow)), dim=1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.logits(self.fc_cls(x.flatten(1)))
