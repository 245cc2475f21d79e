"""MMRazor 1.0.0's ONNX export on torch 2.13 (qd_plugin.compat.mmrazor_onnx).

A process without qd_plugin cannot import mmrazor.models on torch 2.13 at all
(see test_mmrazor_fx_compat.py), so each defect is shown here with MMRazor's
original function put back for the duration of the test.
"""
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from mmrazor.models.quantizers import (OpenVINOQuantizer, TensorRTQuantizer,
                                       TorchNativeQuantizer)
from mmrazor.registry import MODELS
from torch.ao.quantization import disable_observer

from qd_plugin.compat import mmrazor_onnx as compat
from qd_plugin.compat import patch_report

QUANTIZERS = (TorchNativeQuantizer, OpenVINOQuantizer, TensorRTQuantizer)
# Symmetric int8 weights in [-128, 127]: torch's QuantizeLinear symbolic
# (what the native and TensorRT exports use) takes no narrower range.
GLOBAL_QCONFIG = dict(
    w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
    a_observer=dict(type='mmrazor.MovingAverageMinMaxObserver'),
    w_fake_quant=dict(type='mmrazor.FakeQuantize'),
    a_fake_quant=dict(type='mmrazor.FakeQuantize'),
    w_qscheme=dict(qdtype='qint8', bit=8, is_symmetry=True),
    a_qscheme=dict(qdtype='quint8', bit=8, is_symmetry=True))


class Toy(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.relu(self.bn(self.conv(x))).mean((2, 3)))


def prepared(quantizer_type: str):
    """A quantizer and the fake-quantized model it prepared: observers
    calibrated on one batch, then off; eval mode."""
    torch.manual_seed(0)
    quantizer = MODELS.build(
        dict(
            type=quantizer_type,
            global_qconfig=GLOBAL_QCONFIG,
            tracer=dict(type='mmrazor.CustomTracer')))
    model = quantizer.prepare(Toy())
    model(torch.randn(4, 3, 8, 8))
    model.apply(disable_observer)
    return quantizer, model.eval()


def clips():
    return torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize('quantizer', QUANTIZERS, ids=lambda q: q.__name__)
def test_export_onnx_defect(quantizer, tmp_path, monkeypatch):
    """Upstream export_onnx leaves torch 2.13 to its dynamo exporter, which
    needs onnxscript (not installed with this stack; hidden here so the test
    does not depend on it)."""
    monkeypatch.setitem(sys.modules, 'onnxscript', None)
    assert compat.onnx_export_defaults_to_dynamo()
    upstream = vars(quantizer)['export_onnx'].__wrapped__
    instance, model = prepared(f'mmrazor.{quantizer.__name__}')
    with pytest.raises(ModuleNotFoundError, match='onnxscript'):
        upstream(instance, model, (clips(), ), str(tmp_path / 'toy.onnx'))


def test_export_onnx_fixed_openvino(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxscript', None)
    quantizer, model = prepared('mmrazor.OpenVINOQuantizer')
    path = tmp_path / 'toy.onnx'
    quantizer.export_onnx(model, (clips(), ), str(path))
    nodes = onnx.load(str(path)).graph.node
    # MMRazor's exporter turned its fake-quantize nodes into OpenVINO's.
    fake_quantize = [n for n in nodes if n.op_type == 'FakeQuantize']
    assert fake_quantize and all(n.domain == 'org.openvinotoolkit'
                                 for n in fake_quantize)
    assert not [n for n in nodes if n.domain == 'mmrazor']
    import openvino as ov
    outputs = ov.Core().compile_model(str(path), 'CPU')(clips().numpy())[0]
    with torch.no_grad():
        reference = model(clips()).numpy()
    # Within a few int8 steps of the fake-quantized PyTorch model.
    np.testing.assert_allclose(outputs, reference, atol=0.02)


def test_export_onnx_fixed_torch_native(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxscript', None)
    quantizer, model = prepared('mmrazor.TorchNativeQuantizer')
    path = tmp_path / 'toy.onnx'
    quantizer.export_onnx(model, (clips(), ), str(path))
    op_types = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear', 'Conv'} <= op_types
    import onnxruntime as ort
    session = ort.InferenceSession(str(path))
    outputs = session.run(None, {session.get_inputs()[0].name:
                                 clips().numpy()})[0]
    with torch.no_grad():
        reference = model(clips()).numpy()
    # ONNX Runtime rounds a few values to the neighbouring int8 step.
    np.testing.assert_allclose(outputs, reference, atol=0.02)


def test_export_onnx_keeps_an_explicit_exporter_choice(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch.onnx, 'export',
                        lambda *args, **kwargs: calls.append(kwargs))
    quantizer, model = prepared('mmrazor.TorchNativeQuantizer')
    quantizer.export_onnx(model, (clips(), ), str(tmp_path / 'a.onnx'))
    quantizer.export_onnx(
        model, (clips(), ), str(tmp_path / 'b.onnx'), dynamo=True)
    assert [call['dynamo'] for call in calls] == [False, True]


def test_export_onnx_patch_applied_once():
    patch = compat.QUANTIZER_EXPORT_ONNX_TORCHSCRIPT
    assert patch.applied and not patch.detect()
    assert patch.apply() is False
    for quantizer in QUANTIZERS:
        export_onnx = vars(quantizer)['export_onnx']
        assert export_onnx.qd_torchscript_default
        assert not hasattr(export_onnx.__wrapped__, 'qd_torchscript_default')


@pytest.mark.parametrize('patch', [
    compat.QUANTIZER_EXPORT_ONNX_TORCHSCRIPT,
    compat.FAKE_QUANTIZE_SYMBOLIC_TYPES
])
def test_patches_are_listed(patch):
    line = next(line for line in patch_report().splitlines()
                if line.startswith(patch.name))
    assert ' applied ' in line


# ---------------------------------------------------------------------------
# mmrazor.fake_quantize_symbolic_types
# ---------------------------------------------------------------------------
class FakeQuantizedConv(nn.Module):
    """Conv3d with fake-quantized weights (per channel) and input (per
    tensor), observers off, as a QAT model has them."""

    def __init__(self) -> None:
        super().__init__()
        from torch.ao.quantization import (FakeQuantize,
                                           PerChannelMinMaxObserver,
                                           disable_observer)
        self.conv = nn.Conv3d(3, 4, 3)
        self.input_fake_quant = FakeQuantize()
        self.weight_fake_quant = FakeQuantize(
            observer=PerChannelMinMaxObserver,
            quant_min=-128,
            quant_max=127,
            dtype=torch.qint8,
            qscheme=torch.per_channel_symmetric,
            ch_axis=0)
        with torch.no_grad():
            self.input_fake_quant(torch.randn(1, 3, 4, 8, 8))
            self.weight_fake_quant(self.conv.weight)
        self.apply(disable_observer)
        self.eval()

    def forward(self, x):
        return nn.functional.conv3d(
            self.input_fake_quant(x), self.weight_fake_quant(self.conv.weight),
            self.conv.bias)


def export_opset11(model: nn.Module, path) -> None:
    torch.onnx.export(model, (torch.randn(1, 3, 4, 8, 8), ), str(path),
                      opset_version=11, dynamo=False)


def test_fake_quantize_symbolic_defect(tmp_path):
    """MMRazor's symbolic as MMRazor registers it. (A process without
    qd_plugin cannot import mmrazor.models on torch 2.13 at all, so the
    original symbolic is put back here for the duration of the test.)"""
    from mmrazor.models.quantizers import native_quantizer
    from torch.onnx import register_custom_op_symbolic
    names = ('fake_quantize_per_tensor_affine',
             'fake_quantize_per_channel_affine')
    for name in names:
        register_custom_op_symbolic(f'::{name}',
                                    getattr(native_quantizer, name), 11)
    try:
        with pytest.raises(Exception,
                           match='convolution for kernel of unknown shape'):
            export_opset11(FakeQuantizedConv(), tmp_path / 'fq.onnx')
    finally:
        for name in names:
            register_custom_op_symbolic(
                f'::{name}', compat._typed(getattr(native_quantizer, name)),
                11)


def test_fake_quantize_symbolic_fixed(tmp_path):
    patch = compat.FAKE_QUANTIZE_SYMBOLIC_TYPES
    assert patch.applied and not patch.detect()
    assert patch.apply() is False
    export_opset11(FakeQuantizedConv(), tmp_path / 'fq.onnx')
    model = onnx.load(str(tmp_path / 'fq.onnx'))
    # MMRazor's custom nodes are kept (its exporters rewrite them).
    assert sorted((n.domain, n.op_type) for n in model.graph.node
                  if n.domain) == [('mmrazor', 'FixedPerChannelAffine'),
                                   ('mmrazor', 'FixedPerTensorAffine')]
    assert 'Conv' in [n.op_type for n in model.graph.node]
