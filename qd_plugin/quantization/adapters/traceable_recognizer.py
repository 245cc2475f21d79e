"""Build an MMAction2 recognizer in the form QAT can trace and quantize."""
import copy
from collections import Counter
from typing import Dict, Union

import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.logging import print_log

from ...models.heads import TraceableHeadMixin
from ...models.recognizers import (TraceableRecognizer2D,
                                   TraceableRecognizer3D,
                                   TraceableRecognizerMixin)
from .module_swaps import swap_untraceable_modules
from .traceable_config import traceable_recognizer_cfg


def _batch_norm_dims(recognizer: nn.Module) -> int:
    if isinstance(recognizer, TraceableRecognizer3D):
        return 3
    if isinstance(recognizer, TraceableRecognizer2D):
        return 2
    raise TypeError('expected a TraceableRecognizer3D or TraceableRecognizer2D'
                    f', got {type(recognizer).__name__}')


def traceable_recognizer(architecture: Union[Dict, nn.Module]) -> nn.Module:
    """An MMAction2 recognizer ready for MMRazor's QAT tracer.

    A config (e.g. ``_base_.model`` of an ``mmaction::`` config) is built
    with the traceable twins of its recognizer and head
    (:func:`traceable_recognizer_cfg`); then the layers ``torch.fx`` cannot
    trace are swapped for plain torch ones (:func:`swap_untraceable_modules`)
    and the swaps are logged. The state dict is the stock model's: its
    checkpoints load before or after.

    Args:
        architecture (dict | nn.Module): A recognizer config, or a built
            ``TraceableRecognizer3D``/``TraceableRecognizer2D``.

    Returns:
        nn.Module: The traceable recognizer.

    Raises:
        TypeError: a built recognizer that is not traceable.
        ValueError: a config whose recognizer or head has no traceable twin.
    """
    if isinstance(architecture, dict):
        architecture = MODELS.build(traceable_recognizer_cfg(architecture))
    elif not isinstance(architecture, TraceableRecognizerMixin):
        raise TypeError(
            'QAT traces TraceableRecognizer3D/TraceableRecognizer2D; pass '
            f'the config of the {type(architecture).__name__} instead, its '
            'traceable twin is built from it')
    if not isinstance(architecture.cls_head, TraceableHeadMixin):
        raise TypeError(
            f'the head {type(architecture.cls_head).__name__} is not '
            'traceable; build it from the config (TRACEABLE_HEADS)')
    swaps = swap_untraceable_modules(architecture,
                                     _batch_norm_dims(architecture))
    if swaps:
        counts = Counter(swaps.values())
        print_log(
            f'QAT: swapped {len(swaps)} untraceable modules for plain torch '
            'ones (same state dict): ' +
            ', '.join(f'{what}: {n}' for what, n in sorted(counts.items())),
            logger='current')
    return architecture


def with_head_skipped_methods(quantizer: Dict) -> Dict:
    """A quantizer config whose ``CustomTracer`` leaves the traceable heads'
    ``loss_by_feat``/``predict_by_feat`` untraced
    (``TraceableHeadMixin.SKIPPED_METHODS``, added after the config's own).

    Args:
        quantizer (dict): An MMRazor quantizer config.

    Returns:
        dict: The updated copy (unchanged for other tracers).
    """
    quantizer = copy.deepcopy(quantizer)
    tracer = quantizer.setdefault('tracer', dict(type='mmrazor.CustomTracer'))
    if not str(tracer.get('type', '')).endswith('CustomTracer'):
        return quantizer
    skipped = list(tracer.get('skipped_methods', []))
    tracer['skipped_methods'] = skipped + [
        method for method in TraceableHeadMixin.SKIPPED_METHODS
        if method not in skipped
    ]
    return quantizer
