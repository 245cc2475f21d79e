from typing import Dict

import torch
from mmaction.models.heads import I3DHead
from mmaction.registry import MODELS
from mmaction.utils import SampleList


@MODELS.register_module()
class TraceableI3DHead(I3DHead):
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
    - :meth:`loss` and :meth:`predict` (no ``**kwargs`` passed on) run
      ``forward`` (traced and quantized) and hand the class scores to
      :meth:`loss_by_feat` / :meth:`predict_by_feat`, which work on data
      samples and go into the tracer's ``skipped_methods``; naming this class
      there (not ``BaseHead``) leaves other heads traced as they are::

          tracer=dict(
              type='mmrazor.CustomTracer',
              skipped_methods=[
                  'qd_plugin.models.heads.TraceableI3DHead.loss_by_feat',
                  'qd_plugin.models.heads.TraceableI3DHead.predict_by_feat',
              ])

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
        return self.fc_cls(x.flatten(1))

    def loss(self, feats: torch.Tensor, data_samples: SampleList,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Class scores of ``feats`` and their losses against the labels.

        Args:
            feats (torch.Tensor): Backbone features.
            data_samples (list[ActionDataSample]): Samples with
                ``gt_labels``.

        Returns:
            dict[str, torch.Tensor]: ``loss_cls`` and top-k accuracies.
        """
        return self.loss_by_feat(self(feats), data_samples)

    def predict(self, feats: torch.Tensor, data_samples: SampleList,
                **kwargs) -> SampleList:
        """Class scores of ``feats``, written into ``data_samples``.

        Args:
            feats (torch.Tensor): Backbone features.
            data_samples (list[ActionDataSample]): The samples to fill.

        Returns:
            list[ActionDataSample]: The samples with ``pred_scores`` and
            ``pred_labels`` (scores averaged over the clips of a sample as
            ``average_clips`` says).
        """
        return self.predict_by_feat(self(feats), data_samples)
