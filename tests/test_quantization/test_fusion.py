"""The backend-config patterns of video recognizers: Conv+BN+ReLU6 fusion,
shape ops that stay int8, and the report of what is left in float."""
import mmrazor.models  # noqa: F401
import pytest
import torch
import torch.ao.nn.intrinsic.qat as nniqat
import torch.ao.nn.intrinsic.quantized as nniq
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.quantizers import native_quantizer
from mmrazor.registry import MODELS
from torch.ao.quantization import disable_observer
from torch.ao.quantization.quantize_fx import convert_fx

from conftest import x86_qat_qconfig
from qd_plugin.quantization.float_report import float_operations
from qd_plugin.quantization.fusion import (ConvBnReLU62d, QATConvBnReLU62d,
                                           QATConvBnReLU63d,
                                           lower_shared_qparams_ops,
                                           video_backend_config)

QCONFIG = x86_qat_qconfig()


def quantizer(video_patterns: bool = True):
    quantizer = MODELS.build(
        dict(
            type='mmrazor.TorchNativeQuantizer',
            global_qconfig=QCONFIG,
            tracer=dict(type='mmrazor.CustomTracer')))
    if video_patterns:
        quantizer.backend_config = video_backend_config(
            quantizer.backend_config)
    return quantizer


def calibrate(prepared: nn.Module, shape, steps: int = 4) -> nn.Module:
    prepared.train()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(steps):
            prepared(torch.randn(shape, generator=generator))
    prepared.eval()
    prepared.apply(disable_observer)
    return prepared


def to_int8(prepared: nn.Module, backend_config) -> torch.fx.GraphModule:
    import copy
    return convert_fx(copy.deepcopy(prepared), backend_config=backend_config)


class ConvBnReLU6Net(nn.Module):
    """MobileNetV2's Conv+BN+ReLU6, twice; large weights, so that the
    pre-activations go well beyond 6."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        conv, bn = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (
            nn.Conv3d, nn.BatchNorm3d)
        self.conv1, self.bn1, self.act1 = conv(3, 8, 3), bn(8), nn.ReLU6()
        self.conv2, self.bn2, self.act2 = conv(8, 8, 1), bn(8), nn.ReLU6()
        for bn_ in (self.bn1, self.bn2):
            bn_.weight.data.fill_(4.0)
            bn_.bias.data.fill_(2.0)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(x)))


@pytest.mark.parametrize('dims', [2, 3])
def test_conv_bn_relu6_fuses_into_one_int8_kernel(dims):
    torch.manual_seed(0)
    shape = (2, 3, 6, 6) if dims == 2 else (2, 3, 4, 6, 6)
    net = ConvBnReLU6Net(dims)
    with torch.no_grad():  # BN statistics of the data, as trained
        net.train()
        for bn in (net.bn1, net.bn2):
            bn.momentum = None
        net(torch.randn(8, *shape[1:]))
    net.eval()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    # Without the pattern: ConvBn and a separate, unfused ReLU6.
    plain = quantizer(video_patterns=False).prepare(net)
    assert type(plain.conv1) is getattr(nniqat, f'ConvBn{dims}d')

    q = quantizer()
    prepared = q.prepare(net)
    qat_class = QATConvBnReLU62d if dims == 2 else QATConvBnReLU63d
    assert type(prepared.conv1) is qat_class
    assert type(prepared.conv2) is qat_class
    assert prepared.conv1.weight is net.conv1.weight  # trains the float one
    calibrate(prepared, shape)
    output_fake_quant = prepared.get_submodule(
        next(iter(prepared.graph.nodes.__reversed__())).args[0].target)
    # The range is observed after the clamp.
    assert 5.0 < float(output_fake_quant.activation_post_process.max_val) \
        <= 6.0
    net.eval()  # preparing put the float modules in training mode
    with torch.no_grad():
        fake_quant = prepared(x)
        reference = net(x)  # with the BN statistics QAT left
    assert (reference > 5.99).any()  # ReLU6 clamps
    assert float(fake_quant.max()) <= 6.0  # and QAT does too
    assert (fake_quant - reference).abs().max() < 0.5
    int8_model = to_int8(prepared, q.backend_config)
    assert type(int8_model.conv1) is getattr(nniq, f'ConvReLU{dims}d')
    step = float(output_fake_quant.scale)
    with torch.no_grad():
        int8_out = int8_model(x)
    assert (int8_out - fake_quant).abs().max() <= 2 * step * 1.001
    # int8 saturates where ReLU6 clamps.
    assert float(int8_out.max()) <= 6.0 + 1e-6


def test_bn_folding_is_registered_for_deployment():
    video_backend_config(quantizer(False).backend_config)
    assert native_quantizer.MERGE_BN_MAPPINGS[QATConvBnReLU62d] is \
        nniqat.ConvReLU2d
    assert native_quantizer.MERGE_BN_MAPPINGS[QATConvBnReLU63d] is \
        nniqat.ConvReLU3d


def test_the_original_backend_config_is_not_changed():
    original = quantizer(False).backend_config
    patterns = len(original.configs)
    extended = video_backend_config(original)
    assert len(original.configs) == patterns
    assert len(extended.configs) == patterns + len(extended.video_patterns)
    assert ConvBnReLU62d in extended.video_patterns
    assert 'flatten' in extended.video_patterns


class ShapeOpsNet(nn.Module):
    """The shape ops of heads and the temporal shift between two convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.conv2 = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        x = self.conv1(x)
        height = x.shape[2]
        x = x.flatten(2).unflatten(2, (height, -1))
        x = F.pad(x[:, :, 1:], (0, 0, 1, 0))
        return self.conv2(x)


def test_shape_ops_run_on_int8_tensors():
    q = quantizer()
    prepared = calibrate(q.prepare(ShapeOpsNet()), (2, 3, 5, 5))
    int8_model = to_int8(prepared, q.backend_config)
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        before = int8_model(x)
    ops = sorted(op.split(': ')[1] for op in float_operations(int8_model, x))
    assert ops == ['flatten', 'getitem', 'pad', 'unflatten']
    assert lower_shared_qparams_ops(int8_model) == 4
    assert float_operations(int8_model, x) == []
    with torch.no_grad():
        assert torch.equal(int8_model(x), before)


class ExpNet(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.conv2 = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.conv2(torch.exp(self.conv1(x)))


def test_float_operations_are_reported():
    q = quantizer()
    prepared = calibrate(q.prepare(ExpNet()), (2, 3, 5, 5))
    int8_model = to_int8(prepared, q.backend_config)
    lower_shared_qparams_ops(int8_model)
    assert float_operations(int8_model, torch.randn(2, 3, 5, 5)) == \
        ['exp: exp']
