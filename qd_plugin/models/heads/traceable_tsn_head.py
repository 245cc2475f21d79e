import torch
from mmaction.models.heads import TSNHead
from mmaction.registry import MODELS

from .traceable_head_mixin import TraceableHeadMixin


@MODELS.register_module()
class TraceableTSNHead(TraceableHeadMixin, TSNHead):
    """:class:`TSNHead` that ``torch.fx`` traces for quantization.

    Same parameters, state-dict keys, scores, losses and predictions as
    ``TSNHead``. The segments of a sample are grouped with
    ``unflatten(0, (-1, num_segs))`` (``TSNHead`` builds the shape as
    ``(-1, num_segs) + x.shape[1:]``, a tuple sum the quantizer would observe
    like a tensor op) and the features flattened with ``flatten(1)``;
    ``loss``/``predict`` come from :class:`TraceableHeadMixin`.

    Args: see :class:`mmaction.models.heads.TSNHead`.
    """

    def forward(self, x: torch.Tensor, num_segs: int,
                **kwargs) -> torch.Tensor:
        """Pool, average the segments (consensus), drop out and classify.

        Args:
            x (torch.Tensor): Features, (N * num_segs, in_channels, H, W).
            num_segs (int): Segments per sample.

        Returns:
            torch.Tensor: The class scores (logits), (N, num_classes).
        """
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = self.consensus(x.unflatten(0, (-1, num_segs))).squeeze(1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.logits(self.fc_cls(x.flatten(1)))
