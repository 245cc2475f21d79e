import copy
from typing import Callable, Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmaction.utils import OptSampleList, SampleList


class Int8Recognizer(BaseModel):
    """An int8 classifier as an MMEngine model, to test it with a Runner.

    The int8 model (e.g. an exported TorchScript module) maps preprocessed
    clips to logits on the CPU; this model adds the data preprocessing in
    front and the head's post-processing (``predict_by_feat``: clip
    averaging, ``pred_scores``/``pred_labels``) behind, so that
    ``test_step`` returns what a recognizer's does.

    Args:
        classifier (nn.Module): ``clips -> logits`` (see
            :class:`~qd_plugin.quantization.int8.Int8Classifier`), run on the
            CPU (quantized kernels are CPU-only).
        predict_by_feat (Callable): The float head's ``predict_by_feat``
            (``(logits, data_samples) -> data_samples``).
        data_preprocessor (nn.Module | dict, optional): The recognizer's data
            preprocessor; it is copied to the CPU.
    """

    def __init__(self,
                 classifier: nn.Module,
                 predict_by_feat: Callable[[torch.Tensor, SampleList],
                                           SampleList],
                 data_preprocessor: Optional[Union[nn.Module, Dict]] = None
                 ) -> None:
        if isinstance(data_preprocessor, nn.Module):
            data_preprocessor = copy.deepcopy(data_preprocessor).cpu()
        super().__init__(data_preprocessor=data_preprocessor)
        self.classifier = classifier
        self.predict_by_feat = predict_by_feat

    def forward(self,
                inputs: torch.Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[torch.Tensor, List]:
        """Logits (``'tensor'``) or predictions (``'predict'``).

        Args:
            inputs (torch.Tensor): Preprocessed clips,
                (N, num_clips, C, T, H, W).
            data_samples (list[ActionDataSample], optional): Needed by
                ``'predict'``.
            mode (str): ``'tensor'`` or ``'predict'``; an int8 model is not
                trained, so there is no ``'loss'``.

        Returns:
            torch.Tensor | list[ActionDataSample]: As ``mode`` says.
        """
        with torch.no_grad():
            logits = self.classifier(inputs.cpu().float())
        if mode == 'tensor':
            return logits
        if mode == 'predict':
            return self.predict_by_feat(logits, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}" for an int8 model: only '
                           'tensor and predict are supported')
