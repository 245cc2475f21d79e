import torch
from mmaction.models.heads import TSMHead
from mmaction.registry import MODELS

from .traceable_head_mixin import TraceableHeadMixin


@MODELS.register_module()
class TraceableTSMHead(TraceableHeadMixin, TSMHead):
    """:class:`TSMHead` that ``torch.fx`` traces for quantization.

    Same parameters, state-dict keys, scores, losses and predictions as
    ``TSMHead``. The scores of a clip's segments are grouped with
    ``unflatten(0, (-1, num_segments))`` (``TSMHead`` builds the shape as
    ``(-1, n) + cls_score.size()[1:]``, a tuple sum the quantizer would
    observe like a tensor op); ``loss``/``predict`` come from
    :class:`TraceableHeadMixin`.

    Args: see :class:`mmaction.models.heads.TSMHead`.
    """

    def forward(self, x: torch.Tensor, num_segs: int = None,
                **kwargs) -> torch.Tensor:
        """Pool, drop out, classify each segment, average the segments.

        Args:
            x (torch.Tensor): Features,
                (N * num_clips * num_segments, in_channels, H, W).
            num_segs (int, optional): Unused, as in ``TSMHead`` (the head's
                ``num_segments`` is used).

        Returns:
            torch.Tensor: The class scores (logits),
            (N * num_clips, num_classes).
        """
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = torch.flatten(x, 1)
        if self.dropout is not None:
            x = self.dropout(x)
        cls_score = self.fc_cls(x)
        segments = self.num_segments
        if self.is_shift and self.temporal_pool:
            segments = self.num_segments // 2
        cls_score = cls_score.unflatten(0, (-1, segments))
        return self.logits(self.consensus(cls_score).squeeze(1))
