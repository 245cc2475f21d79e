import json

import pytest
import torch
import torch.fx

from conftest import FIXTURES
from qd_plugin.models import MobileNet3D


def test_output_shape_and_channels():
    backbone = MobileNet3D(width_mult=0.5)
    out = backbone(torch.randn(2, 3, 16, 64, 64))
    assert out.shape == (2, 512, 1, 2, 2)
    assert backbone.out_channels == 512


def test_parameter_count_matches_the_released_model():
    fixture = json.loads(
        (FIXTURES / 'efficient3dcnn_mobilenet_0.5x.keys.json').read_text())
    backbone = MobileNet3D(width_mult=0.5)
    head = torch.nn.Linear(backbone.out_channels, fixture['num_classes'])
    params = sum(p.numel() for m in (backbone, head) for p in m.parameters())
    assert params == fixture['params'] == 881538


def test_norm_eval_keeps_bn_statistics():
    backbone = MobileNet3D(width_mult=0.25, norm_eval=True).train()
    bn = backbone.stem.bn
    before = bn.running_mean.clone()
    backbone(torch.randn(1, 3, 4, 32, 32) + 3)
    assert not bn.training
    torch.testing.assert_close(bn.running_mean, before)


def test_fx_traceable_with_fusable_conv_bn_relu():
    traced = torch.fx.symbolic_trace(MobileNet3D(width_mult=0.25))
    modules = dict(traced.named_modules())
    calls = [type(modules[n.target]) for n in traced.graph.nodes
             if n.op == 'call_module']
    # stem + 13 blocks x 2 units, each Conv3d -> BatchNorm3d -> ReLU
    assert calls == [torch.nn.Conv3d, torch.nn.BatchNorm3d, torch.nn.ReLU] * 27
    assert modules['layers.0.depthwise.conv'].groups == 8


def test_default_init_keeps_activations_alive_in_eval_mode():
    torch.manual_seed(0)
    backbone = MobileNet3D(width_mult=0.5)
    backbone.init_weights()
    with torch.no_grad():
        out = backbone.eval()(torch.randn(1, 3, 16, 112, 112))
    # Fan-out Kaiming init of the depthwise convs gives ~1e-18 here.
    assert out.std() > 1e-4
