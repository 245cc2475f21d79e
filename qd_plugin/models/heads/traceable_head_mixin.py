from typing import Dict

import torch
import torch.nn as nn
from mmaction.utils import SampleList


class TraceableHeadMixin:
    """What makes an MMAction2 head traceable by ``torch.fx`` (MMRazor's
    ``CustomTracer``) in the ``'loss'`` and ``'predict'`` modes.

    :meth:`loss` and :meth:`predict` run the head's ``forward`` (traced and
    quantized) and hand the class scores to :meth:`loss_by_feat` /
    :meth:`predict_by_feat`, which work on data samples and cannot be traced.
    Those two are defined here, on the mixin, so that one pair of
    ``skipped_methods`` leaves them untraced in every head that mixes it in
    (MMRazor keys skipped methods by method name, so naming one head's class
    would drop another's)::

        tracer=dict(
            type='mmrazor.CustomTracer',
            skipped_methods=[
                'qd_plugin.models.heads.TraceableHeadMixin.loss_by_feat',
                'qd_plugin.models.heads.TraceableHeadMixin.predict_by_feat',
            ])

    :data:`SKIPPED_METHODS` is that list; ``StrictMMArchitectureQuant`` adds
    it to the tracer by itself. Mix it in first: ``class TraceableXHead(
    TraceableHeadMixin, XHead)``.

    A head's ``forward`` ends in ``self.logits``, an ``nn.Identity`` (no
    parameters, the state dict is the stock head's): the one module call
    whose output is the class scores, also in a traced graph, where the
    head itself is no module call. Distillation records the student's
    logits there (``ModuleOutputs`` of ``cls_head.logits``); quantization
    passes it through.
    """

    #: The tracer's ``skipped_methods`` for every head with this mixin.
    SKIPPED_METHODS = (
        'qd_plugin.models.heads.TraceableHeadMixin.loss_by_feat',
        'qd_plugin.models.heads.TraceableHeadMixin.predict_by_feat',
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.logits = nn.Identity()

    def loss(self, feats: torch.Tensor, data_samples: SampleList,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Class scores of ``feats`` and their losses against the labels.

        Args:
            feats (torch.Tensor | tuple[torch.Tensor]): Backbone features.
            data_samples (list[ActionDataSample]): Samples with
                ``gt_labels``.
            **kwargs: Passed on to ``forward`` (e.g. ``num_segs``).

        Returns:
            dict[str, torch.Tensor]: ``loss_cls`` and top-k accuracies.
        """
        return self.loss_by_feat(self(feats, **kwargs), data_samples)

    def predict(self, feats: torch.Tensor, data_samples: SampleList,
                **kwargs) -> SampleList:
        """Class scores of ``feats``, written into ``data_samples``.

        Args:
            feats (torch.Tensor | tuple[torch.Tensor]): Backbone features.
            data_samples (list[ActionDataSample]): The samples to fill.
            **kwargs: Passed on to ``forward`` (e.g. ``num_segs``).

        Returns:
            list[ActionDataSample]: The samples with ``pred_scores`` and
            ``pred_labels`` (scores averaged over the clips of a sample as
            ``average_clips`` says).
        """
        return self.predict_by_feat(self(feats, **kwargs), data_samples)

    def loss_by_feat(self, cls_scores: torch.Tensor,
                     data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """The head's own ``loss_by_feat`` (left untraced)."""
        return super().loss_by_feat(cls_scores, data_samples)

    def predict_by_feat(self, cls_scores: torch.Tensor,
                        data_samples: SampleList) -> SampleList:
        """The head's own ``predict_by_feat`` (left untraced)."""
        return super().predict_by_feat(cls_scores, data_samples)
