from typing import Dict, Tuple, Union

import torch
from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList


@MODELS.register_module()
class TraceableRecognizer3D(Recognizer3D):
    """:class:`Recognizer3D` that ``torch.fx`` (MMRazor's ``CustomTracer``)
    traces in each of its modes, for quantization-aware training.

    It builds the same modules as ``Recognizer3D`` (same state-dict keys:
    float checkpoints load unchanged) and computes the same losses and
    predictions, with a forward the tracer can follow once ``mode`` is fixed:

    - no ``**kwargs`` in :meth:`forward` (``Proxy object cannot be
      iterated``);
    - the clips of a sample are merged with ``torch.flatten(inputs, 0, 1)``
      (``Recognizer3D`` reshapes with ``view((-1, ) + inputs.shape[2:])``,
      whose ``+`` is traced as an ``add`` that the quantizer observes like a
      tensor op);
    - the losses are the head's only (no ``merge_dict`` with neck losses),
      so :meth:`loss` and :meth:`predict` end in the head's ``loss`` /
      ``predict``, whose data-sample parts (``loss_by_feat``,
      ``predict_by_feat`` of :class:`TraceableI3DHead`) go into the tracer's
      ``skipped_methods``.

    Unlike ``Recognizer3D``, mode ``'tensor'`` returns the class scores (the
    head's logits) rather than the backbone features: the ``'tensor'``,
    ``'predict'`` and ``'loss'`` graphs then share every quantized op and
    MMRazor can copy quantization parameters between them, and the tensor
    graph is the whole classifier, ready for int8 conversion.

    Necks and ``test_cfg`` options (``max_testing_views``, ``fcn_test``) are
    not supported.

    Args: see :class:`mmaction.models.recognizers.Recognizer3D`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.with_neck:
            raise ValueError('TraceableRecognizer3D does not support necks')
        if not self.with_cls_head:
            raise ValueError('TraceableRecognizer3D needs a cls_head')

    def extract_feat(self,
                     inputs: torch.Tensor,
                     stage: str = 'backbone',
                     data_samples: OptSampleList = None,
                     test_mode: bool = False) -> Tuple[torch.Tensor, Dict]:
        """Backbone features (``stage='backbone'`` or ``'neck'``) or class
        scores (``stage='head'``) of the clips.

        Args:
            inputs (torch.Tensor): Clips, (N, num_clips, C, T, H, W).
            stage (str): Where to stop. Defaults to ``'backbone'``.
            data_samples (list[ActionDataSample], optional): Unused.
            test_mode (bool): Unused.

        Returns:
            tuple[torch.Tensor, dict]: The features of the N * num_clips
            clips and an empty dict (no extra loss/predict arguments).
        """
        feats = self.backbone(torch.flatten(inputs, 0, 1))
        if stage == 'head':
            feats = self.cls_head(feats)
        return feats, dict()

    def loss(self, inputs: torch.Tensor, data_samples: SampleList,
             **kwargs) -> Dict[str, torch.Tensor]:
        """The head's losses on a batch.

        Args:
            inputs (torch.Tensor): Clips, (N, num_clips, C, T, H, W).
            data_samples (list[ActionDataSample]): Samples with
                ``gt_labels``.

        Returns:
            dict[str, torch.Tensor]: The loss components.
        """
        feats, _ = self.extract_feat(inputs)
        return self.cls_head.loss(feats, data_samples)

    def predict(self, inputs: torch.Tensor, data_samples: SampleList,
                **kwargs) -> SampleList:
        """Predictions of a batch.

        Args:
            inputs (torch.Tensor): Clips, (N, num_clips, C, T, H, W).
            data_samples (list[ActionDataSample]): The samples to fill.

        Returns:
            list[ActionDataSample]: The samples with ``pred_scores`` and
            ``pred_labels``.
        """
        feats, _ = self.extract_feat(inputs, test_mode=True)
        return self.cls_head.predict(feats, data_samples)

    def _forward(self,
                 inputs: torch.Tensor,
                 stage: str = 'head',
                 **kwargs) -> torch.Tensor:
        """Class scores (``stage='head'``) or backbone features.

        Args:
            inputs (torch.Tensor): Clips, (N, num_clips, C, T, H, W).
            stage (str): ``'head'`` or ``'backbone'``. Defaults to
                ``'head'``.

        Returns:
            torch.Tensor: (N * num_clips, num_classes) logits or the
            backbone feature map.
        """
        feats, _ = self.extract_feat(inputs, stage=stage)
        return feats

    def forward(self,
                inputs: torch.Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[torch.Tensor, Dict, SampleList]:
        """The entry of every mode, traceable once ``mode`` is concrete.

        Args:
            inputs (torch.Tensor): Preprocessed clips,
                (N, num_clips, C, T, H, W).
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
