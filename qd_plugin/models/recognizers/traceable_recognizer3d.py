from typing import Dict, Tuple

import torch
from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList

from .traceable_recognizer_mixin import TraceableRecognizerMixin


@MODELS.register_module()
class TraceableRecognizer3D(TraceableRecognizerMixin, Recognizer3D):
    """:class:`Recognizer3D` that ``torch.fx`` (MMRazor's ``CustomTracer``)
    traces in each of its modes, for quantization-aware training.

    It builds the same modules as ``Recognizer3D`` (same state-dict keys:
    float checkpoints load unchanged) and computes the same losses and
    predictions, with the modes of :class:`TraceableRecognizerMixin`. The
    clips of a sample are merged with ``torch.flatten(inputs, 0, 1)``
    (``Recognizer3D`` reshapes with ``view((-1, ) + inputs.shape[2:])``,
    whose ``+`` is traced as an ``add`` that the quantizer observes like a
    tensor op).

    Necks and ``test_cfg`` options (``max_testing_views``, ``fcn_test``) are
    not supported.

    Args: see :class:`mmaction.models.recognizers.Recognizer3D`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_traceable()

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
            clips and an empty dict (no extra arguments of the head).
        """
        feats = self.backbone(torch.flatten(inputs, 0, 1))
        if stage == 'head':
            feats = self.cls_head(feats)
        return feats, dict()
