import torch
from mmaction.models.heads import X3DHead
from mmaction.registry import MODELS

from .traceable_head_mixin import TraceableHeadMixin


@MODELS.register_module()
class TraceableX3DHead(TraceableHeadMixin, X3DHead):
    """:class:`X3DHead` that ``torch.fx`` traces for quantization.

    Same parameters, state-dict keys, scores, losses and predictions as
    ``X3DHead``; the pooled features are flattened with ``x.flatten(1)``
    instead of ``view(x.shape[0], -1)`` (see :class:`TraceableI3DHead`), and
    ``loss``/``predict`` come from :class:`TraceableHeadMixin`.

    Args: see :class:`mmaction.models.heads.X3DHead`.
    """

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Pool, project (``fc1`` + ReLU), drop out and classify.

        Args:
            x (torch.Tensor): Features, (N, in_channels, T, H, W).

        Returns:
            torch.Tensor: The class scores (logits), (N, num_classes).
        """
        x = self.relu(self.fc1(self.pool(x).flatten(1)))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.logits(self.fc2(x))
