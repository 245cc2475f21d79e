from typing import Dict, Union

import torch
from mmaction.utils import OptSampleList, SampleList


class TraceableRecognizerMixin:
    """The modes of an MMAction2 recognizer in a form ``torch.fx`` (MMRazor's
    ``CustomTracer``) traces once ``mode`` is concrete, for
    quantization-aware training.

    Mixed into :class:`TraceableRecognizer3D` and
    :class:`TraceableRecognizer2D` (first, before the MMAction2 recognizer):
    same modules and state-dict keys as the recognizer, same losses and
    predictions, and

    - no ``**kwargs`` in :meth:`forward` (``Proxy object cannot be
      iterated``);
    - the losses are the head's only (no ``merge_dict`` with neck losses),
      so :meth:`loss` and :meth:`predict` end in the head's ``loss`` /
      ``predict``, whose data-sample parts go into the tracer's
      ``skipped_methods`` (see
      :class:`~qd_plugin.models.heads.TraceableHeadMixin`);
    - mode ``'tensor'`` returns the class scores (the head's logits) rather
      than the backbone features: the ``'tensor'``, ``'predict'`` and
      ``'loss'`` graphs then share every quantized op, MMRazor can copy
      quantization parameters between them, and the tensor graph is the
      whole classifier, ready for int8 conversion.

    A subclass's ``extract_feat(inputs, stage)`` returns the features and
    the keyword arguments of the head's ``forward``. Necks and ``test_cfg``
    options (``max_testing_views``, ``fcn_test``) are not supported.
    """

    def _check_traceable(self) -> None:
        name = type(self).__name__
        if self.with_neck:
            raise ValueError(f'{name} does not support necks')
        if not self.with_cls_head:
            raise ValueError(f'{name} needs a cls_head')

    def loss(self, inputs: torch.Tensor, data_samples: SampleList,
             **kwargs) -> Dict[str, torch.Tensor]:
        """The head's losses on a batch.

        Args:
            inputs (torch.Tensor): Preprocessed clips, (N, num_clips, ...).
            data_samples (list[ActionDataSample]): Samples with
                ``gt_labels``.

        Returns:
            dict[str, torch.Tensor]: The loss components.
        """
        feats, head_kwargs = self.extract_feat(inputs)
        return self.cls_head.loss(feats, data_samples, **head_kwargs)

    def predict(self, inputs: torch.Tensor, data_samples: SampleList,
                **kwargs) -> SampleList:
        """Predictions of a batch.

        Args:
            inputs (torch.Tensor): Preprocessed clips, (N, num_clips, ...).
            data_samples (list[ActionDataSample]): The samples to fill.

        Returns:
            list[ActionDataSample]: The samples with ``pred_scores`` and
            ``pred_labels``.
        """
        feats, head_kwargs = self.extract_feat(inputs, test_mode=True)
        return self.cls_head.predict(feats, data_samples, **head_kwargs)

    def _forward(self,
                 inputs: torch.Tensor,
                 stage: str = 'head',
                 **kwargs) -> torch.Tensor:
        """Class scores (``stage='head'``) or backbone features.

        Args:
            inputs (torch.Tensor): Preprocessed clips, (N, num_clips, ...).
            stage (str): ``'head'`` or ``'backbone'``. Defaults to
                ``'head'``.

        Returns:
            torch.Tensor: The logits or the backbone features.
        """
        feats, _ = self.extract_feat(inputs, stage=stage)
        return feats

    def forward(self,
                inputs: torch.Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[torch.Tensor, Dict, SampleList]:
        """The entry of every mode, traceable once ``mode`` is concrete.

        Args:
            inputs (torch.Tensor): Preprocessed clips, (N, num_clips, ...).
            data_samples (list[ActionDataSample], optional): Needed by
                ``'loss'`` and ``'predict'``. Defaults to None.
            mode (str): ``'tensor'`` (logits), ``'predict'`` or ``'loss'``.
                Defaults to ``'tensor'``.

        Returns:
            torch.Tensor | dict | list[ActionDataSample]: As ``mode`` says.
        """
        if mode == 'tensor':
            return self._forward(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". '
                           'Only supports loss, predict and tensor mode')
