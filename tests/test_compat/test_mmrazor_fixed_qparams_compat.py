"""mmrazor.fixed_qparams_reset: defect in a fresh interpreter without
qd_plugin, fix with qd_plugin imported (a QAT model with sigmoids)."""
import subprocess
import sys

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmrazor.registry import MODELS
from torch.ao.quantization.fake_quantize import FixedQParamsFakeQuantize

import qd_plugin  # noqa: F401  (applies the compat patches)
from qd_plugin.compat.mmrazor_fx import FIXED_QPARAMS_RESET
from qd_plugin.quantization import convert_to_int8

# What MMRazor's MMArchitectureQuant.__init__ ends with, on the fake-quantize
# torch gives sigmoid outputs (fixed scale 1/256, zero point 0).
RESET_SIGMOID_FAKE_QUANT = '''
import sys
sys.modules['qd_plugin'] = None
import torch, torch.nn as nn
import torch.ao.quantization.backend_config.utils
import torch.ao.quantization.fuser_method_mappings as mappings
from torch.ao.quantization.backend_config import BackendPatternConfig
mappings.reverse2, mappings.reverse3 = mappings._reverse2, mappings._reverse3
mappings.reverse_sequential_wrapper2 = (
    lambda seq: mappings._reverse2(mappings._sequential_wrapper2(seq)))
for setter in ('_set_overwrite_output_fake_quantize',
               '_set_overwrite_output_observer', '_set_input_output_observed'):
    setattr(BackendPatternConfig, setter, lambda self, *args: self)
from torch.ao.quantization.fake_quantize import FixedQParamsFakeQuantize
from torch.ao.quantization.observer import \\
    default_fixed_qparams_range_0to1_observer
from mmrazor.models.algorithms import MMArchitectureQuant
holder = nn.Module()
holder.fake_quant = FixedQParamsFakeQuantize(
    default_fixed_qparams_range_0to1_observer)
MMArchitectureQuant.reset_observer_and_fakequant_statistics(None, holder)
x = torch.linspace(-4, 4, 101)
print(float(holder.fake_quant.scale),
      sorted(set(holder.fake_quant(torch.sigmoid(x)).tolist())))
'''


def test_defect_sigmoid_fake_quant_rounds_to_0_or_1():
    result = subprocess.run([sys.executable, '-c', RESET_SIGMOID_FAKE_QUANT],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ['1.0', '[0.0,', '1.0]']


class SqueezeExcite(BaseModel):
    """X3D's squeeze-excitation and Swish, as a recognizer-like model."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.fc = nn.Conv2d(8, 8, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.conv(inputs)
        x = x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))
        return x * torch.sigmoid(x)


def test_fix_keeps_the_fixed_qparams_and_int8_matches():
    assert FIXED_QPARAMS_RESET.applied
    assert not FIXED_QPARAMS_RESET.detect()
    assert FIXED_QPARAMS_RESET.apply() is False
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='mmrazor.MMArchitectureQuant',
            architecture=SqueezeExcite(),
            input_shapes=(2, 3, 4, 4),
            quantizer=dict(
                type='mmrazor.TorchNativeQuantizer',
                global_qconfig=dict(
                    w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
                    a_observer=dict(
                        type='mmrazor.MovingAverageMinMaxObserver'),
                    w_fake_quant=dict(type='mmrazor.FakeQuantize'),
                    a_fake_quant=dict(type='mmrazor.FakeQuantize'),
                    w_qscheme=dict(
                        qdtype='qint8', bit=8, is_symmetry=True,
                        is_symmetric_range=True),
                    a_qscheme=dict(qdtype='quint8', bit=8,
                                   is_symmetry=False)),
                tracer=dict(type='mmrazor.CustomTracer')),
            forward_modes=('tensor', )))
    graph = model.qmodels['tensor']
    fixed = [m for m in graph.modules()
             if isinstance(m, FixedQParamsFakeQuantize)]
    assert len(fixed) == 2
    for fake_quant in fixed:
        assert float(fake_quant.scale) == 1 / 256
        assert int(fake_quant.zero_point) == 0
    with torch.no_grad():
        for seed in range(3):
            graph(torch.randn(4, 3, 4, 4))
    graph.eval()
    graph.apply(torch.ao.quantization.disable_observer)
    x = torch.randn(4, 3, 4, 4)
    with torch.no_grad():
        fake_quant = graph(x)
        int8 = convert_to_int8(graph)(x)
    output_step = float(
        graph.get_submodule(
            next(reversed(graph.graph.nodes)).args[0].target).scale)
    assert (int8 - fake_quant).abs().max() <= 2 * output_step
