import torch
from mmaction.models.heads import I3DHead
from mmaction.registry import MODELS

from .traceable_head_mixin import TraceableHeadMixin


@MODELS.register_module()
class TraceableI3DHead(TraceableHeadMixin, I3DHead):
    """:class:`I3DHead` that ``torch.fx`` (MMRazor's ``CustomTracer``) traces.

    The parameters, buffers and state-dict keys are those of ``I3DHead``, so
    its checkpoints load unchanged, and it computes the same scores, losses
    and predictions. It differs where quantization sees it:

    - :meth:`forward` flattens the pooled features with ``x.flatten(1)``
      instead of ``view(x.shape[0], -1)``. With ``view``, ``convert_fx``
      drops the re-quantization that the fake-quant graph applies to the
      dropout output, so every int8 logit is off by at least one
      quantization step; with ``flatten`` the int8 classifier input is the
      fake-quant one.
    - :meth:`loss` and :meth:`predict` come from
      :class:`TraceableHeadMixin`: they run ``forward`` (traced and
      quantized) and hand the class scores to :meth:`loss_by_feat` /
      :meth:`predict_by_feat`, which go into the tracer's
      ``skipped_methods`` (``TraceableHeadMixin.SKIPPED_METHODS``, or this
      class's own, ``'qd_plugin.models.heads.TraceableI3DHead.loss_by_feat'``
      and ``...predict_by_feat``).

    Args: see :class:`mmaction.models.heads.I3DHead`.
    """

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Pool, drop out and classify the backbone features.

        Args:
            x (torch.Tensor): Features, (N, in_channels, T, H, W).

        Returns:
            torch.Tensor: The class scores (logits), (N, num_classes).
        """
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.logits(self.fc_cls(x.flatten(1)))
