from typing import Dict, Tuple

import torch
from mmaction.models.recognizers import Recognizer2D
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList

from .traceable_recognizer_mixin import TraceableRecognizerMixin


@MODELS.register_module()
class TraceableRecognizer2D(TraceableRecognizerMixin, Recognizer2D):
    """:class:`Recognizer2D` that ``torch.fx`` (MMRazor's ``CustomTracer``)
    traces in each of its modes, for quantization-aware training (TSN, TSM
    and other frame-wise recognizers).

    Same modules and state-dict keys as ``Recognizer2D``, same losses and
    predictions, with the modes of :class:`TraceableRecognizerMixin`. The
    frames of a sample are merged with ``torch.flatten(inputs, 0, 1)``
    (``Recognizer2D`` reshapes with ``view((-1, ) + inputs.shape[2:])``) and
    the head gets ``num_segs``, the frames per sample, as in
    ``Recognizer2D``. Backbones of MMAction2 (and of MMClassification /
    MMPretrain returning one feature map) are supported; torchvision and
    timm backbones, necks, ``fcn_test`` and ``max_testing_views`` are not.

    Args: see :class:`mmaction.models.recognizers.Recognizer2D`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_traceable()
        if self.backbone_from in ('torchvision', 'timm'):
            raise ValueError('TraceableRecognizer2D does not support '
                             f'{self.backbone_from} backbones')

    def extract_feat(self,
                     inputs: torch.Tensor,
                     stage: str = 'backbone',
                     data_samples: OptSampleList = None,
                     test_mode: bool = False) -> Tuple[torch.Tensor, Dict]:
        """Backbone features (``stage='backbone'`` or ``'neck'``) or class
        scores (``stage='head'``) of the frames.

        Args:
            inputs (torch.Tensor): Frames, (N, num_segs, C, H, W).
            stage (str): Where to stop. Defaults to ``'backbone'``.
            data_samples (list[ActionDataSample], optional): Unused.
            test_mode (bool): Unused.

        Returns:
            tuple[torch.Tensor, dict]: The features of the N * num_segs
            frames (or the class scores) and the head's ``num_segs``.
        """
        head_kwargs = dict(num_segs=inputs.shape[1])
        feats = self.backbone(torch.flatten(inputs, 0, 1))
        if isinstance(feats, tuple):  # MMClassification-style backbones
            feats, = feats
        if stage == 'head':
            feats = self.cls_head(feats, **head_kwargs)
        return feats, head_kwargs
