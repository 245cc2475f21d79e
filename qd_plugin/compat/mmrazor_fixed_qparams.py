"""MMRazor 1.0.0 resets the fixed quantization parameters of sigmoid & co.

``MMArchitectureQuant.__init__`` ends with
``reset_observer_and_fakequant_statistics``, which sets the scale of every
fake-quantize to 1 and its zero point to 0, so that training recomputes
them. ``FixedQParamsFakeQuantize`` (the outputs of ``sigmoid``,
``hardsigmoid``, ``tanh``, ``softmax``) never recomputes them: after the
reset, the fake-quantized model rounds every sigmoid output to 0 or 1 for
the whole training, while the int8 model converted from it uses the fixed
1/256. X3D (squeeze-excitation and Swish) trains a different model than the
one it deploys.
"""
import importlib

import torch
import torch.nn as nn
from torch.ao.quantization.fake_quantize import FixedQParamsFakeQuantize
from torch.ao.quantization.observer import \
    default_fixed_qparams_range_0to1_observer

from .patch import CompatPatch, register_patch

_ALGORITHMS = 'mmrazor.models.algorithms'


def _reset_statistics():
    algorithms = importlib.import_module(_ALGORITHMS)
    return algorithms.MMArchitectureQuant.reset_observer_and_fakequant_statistics


def _fixed_qparams_reset() -> bool:
    reset = _reset_statistics()
    if getattr(reset, '__qd_compat__', False):
        return False
    holder = nn.Module()
    holder.sigmoid_fake_quant = FixedQParamsFakeQuantize(
        default_fixed_qparams_range_0to1_observer)
    expected = holder.sigmoid_fake_quant.scale.clone()
    reset(None, holder)
    return not torch.equal(holder.sigmoid_fake_quant.scale, expected)


def _keep_fixed_qparams() -> None:
    algorithms = importlib.import_module(_ALGORITHMS)
    quant = algorithms.MMArchitectureQuant
    reset = quant.reset_observer_and_fakequant_statistics

    def reset_observer_and_fakequant_statistics(self, model: nn.Module):
        fixed = [(module, module.scale.clone(), module.zero_point.clone())
                 for module in model.modules()
                 if isinstance(module, FixedQParamsFakeQuantize)]
        reset(self, model)
        for module, scale, zero_point in fixed:
            module.scale.data = scale
            module.zero_point.data = zero_point

    reset_observer_and_fakequant_statistics.__doc__ = reset.__doc__
    reset_observer_and_fakequant_statistics.__qd_compat__ = True
    reset_observer_and_fakequant_statistics.resetting_fixed_qparams = reset
    quant.reset_observer_and_fakequant_statistics = \
        reset_observer_and_fakequant_statistics


FIXED_QPARAMS_RESET = register_patch(
    CompatPatch(
        name='mmrazor.fixed_qparams_reset',
        package='mmrazor',
        defect='MMArchitectureQuant resets every fake-quantize to scale 1 '
        'and zero point 0, also the FixedQParamsFakeQuantize of sigmoid/'
        'tanh/softmax outputs, which never recompute them: QAT rounds '
        'sigmoids to 0 or 1 while the int8 model uses the fixed 1/256',
        detect=_fixed_qparams_reset,
        fix=_keep_fixed_qparams))
