"""Refuse to deploy a QAT graph whose quantization parameters were never
set from data."""
from typing import List, Optional, Set

import torch
import torch.nn as nn
from torch.ao.quantization import FakeQuantizeBase
from torch.fx import GraphModule


class UncalibratedModelError(RuntimeError):
    """A fake-quantized graph's observers never saw data."""


def _observed_range(fake_quant: nn.Module) -> Optional[torch.Tensor]:
    """The observer's (min, max) values, or None for observers without a
    range (e.g. the fixed qparams of sigmoid outputs)."""
    observer = getattr(fake_quant, 'activation_post_process', None)
    min_val = getattr(observer, 'min_val', None)
    max_val = getattr(observer, 'max_val', None)
    if not isinstance(min_val, torch.Tensor) or not isinstance(
            max_val, torch.Tensor):
        return None
    return torch.cat([min_val.flatten(), max_val.flatten()])


def _never_observed(fake_quant: nn.Module) -> bool:
    values = _observed_range(fake_quant)
    return values is not None and (values.numel() == 0
                                   or bool(torch.isinf(values).any()))


def _nan_range(fake_quant: nn.Module) -> bool:
    values = _observed_range(fake_quant)
    return values is not None and bool(torch.isnan(values).any())


def _called_modules(graph: nn.Module) -> Optional[Set[str]]:
    if not isinstance(graph, GraphModule):
        return None
    return {
        node.target
        for node in graph.graph.nodes if node.op == 'call_module'
    }


def _fake_quants(graph: nn.Module, condition) -> List[str]:
    called = _called_modules(graph)
    return [
        name for name, module in graph.named_modules()
        if isinstance(module, FakeQuantizeBase) and (
            called is None or name in called
            or name.rpartition('.')[0] in called) and condition(module)
    ]


def uncalibrated_fake_quants(graph: nn.Module) -> List[str]:
    """Names of the fake-quantizes of ``graph`` whose observers never saw
    data (their ranges are still the initial +-inf).

    Of a ``GraphModule``, only the fake-quantizes it runs count: those it
    calls and the weight fake-quantizes of the modules it calls (MMRazor
    removes redundant fake-quantize calls from the graph, not the modules).
    """
    return _fake_quants(graph, _never_observed)


def _shown(names: List[str]) -> str:
    return ', '.join(names[:3]) + (', ...' if len(names) > 3 else '')


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
        UncalibratedModelError: naming the first fake-quantizes at fault
            (those never observed, or those whose ranges are NaN).
    """
    names = _fake_quants(graph, _nan_range)
    if names:
        raise UncalibratedModelError(
            f'the QAT model\'s {mode!r} graph has {len(names)} '
            f'fake-quantizes whose observers saw NaN ({_shown(names)}): the '
            'model computed NaN activations (e.g. a diverged training step) '
            'and its quantization parameters are undefined.')
    names = uncalibrated_fake_quants(graph)
    if names:
        shown = _shown(names)
        raise UncalibratedModelError(
            f'the QAT model\'s {mode!r} graph has {len(names)} '
            f'fake-quantizes whose observers never saw data ({shown}): its '
            'quantization parameters were never calibrated nor synced from '
            'the trained graph, and would deploy as scale 1, zero point 0. '
            'Train with mmrazor.QATEpochBasedLoop (it syncs every epoch), '
            "call model.sync_qparams('loss') after training steps, or "
            'calibrate the model first.')
