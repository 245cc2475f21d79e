"""Refuse to deploy a QAT graph whose quantization parameters were never
set from data."""
from typing import List

import torch
import torch.nn as nn
from torch.ao.quantization import FakeQuantizeBase


class UncalibratedModelError(RuntimeError):
    """A fake-quantized graph's observers never saw data."""


def _never_observed(fake_quant: nn.Module) -> bool:
    observer = getattr(fake_quant, 'activation_post_process', None)
    min_val = getattr(observer, 'min_val', None)
    max_val = getattr(observer, 'max_val', None)
    if not isinstance(min_val, torch.Tensor) or not isinstance(
            max_val, torch.Tensor):
        return False  # e.g. the fixed qparams of sigmoid outputs
    return min_val.numel() == 0 or not bool(
        torch.isfinite(min_val).all() and torch.isfinite(max_val).all())


def uncalibrated_fake_quants(graph: nn.Module) -> List[str]:
    """Names of the fake-quantizes of ``graph`` whose observers never saw
    data (their ranges are still the initial +-inf)."""
    return [
        name for name, module in graph.named_modules()
        if isinstance(module, FakeQuantizeBase) and _never_observed(module)
    ]


def check_calibrated(graph: nn.Module, mode: str = 'tensor') -> None:
    """Raise unless every observer of a QAT graph has seen data.

    MMRazor builds one graph per forward mode and trains the ``'loss'``
    one; the others get its quantization parameters only from
    ``sync_qparams`` (``QATEpochBasedLoop`` calls it every epoch, a PTQ
    calibration fills them too). Until then their fake-quantizes hold
    MMRazor's reset values, scale 1 and zero point 0: ``convert_fx`` fails
    on the observers' infinite ranges, and an ONNX export would write the
    unit scales, a wrong model, without a word.

    Args:
        graph (nn.Module): An observed (fake-quantized) graph.
        mode (str): Its forward mode, for the message.

    Raises:
        UncalibratedModelError: naming the first fake-quantizes at fault.
    """
    names = uncalibrated_fake_quants(graph)
    if names:
        shown = ', '.join(names[:3]) + (', ...' if len(names) > 3 else '')
        raise UncalibratedModelError(
            f'the QAT model\'s {mode!r} graph has {len(names)} '
            f'fake-quantizes whose observers never saw data ({shown}): its '
            'quantization parameters were never calibrated nor synced from '
            'the trained graph, and would deploy as scale 1, zero point 0. '
            'Train with mmrazor.QATEpochBasedLoop (it syncs every epoch), '
            "call model.sync_qparams('loss') after training steps, or "
            'calibrate the model first.')
