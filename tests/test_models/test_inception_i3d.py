"""Tests of the ``InceptionI3D`` backbone (kinetics_i3d_pytorch layout)."""
import json
import math

import pytest
import torch
import torch.nn as nn

from conftest import FIXTURES
import qd_plugin.models.backbones.inception_i3d  # noqa: F401  (registers)
from mmaction.registry import MODELS
from qd_plugin.models.backbones.inception_i3d import InceptionI3D

FIXTURE = FIXTURES / 'kinetics_i3d_pytorch_rgb.keys.json'
HEAD_PREFIX = 'conv3d_0c_1x1.'


@pytest.fixture(scope='module')
def layout():
    with open(FIXTURE) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def backbone():
    torch.manual_seed(0)
    return MODELS.build(dict(type='InceptionI3D')).eval()


def test_state_dict_matches_port_layout(layout, backbone):
    expected = [(key, shape) for key, shape in layout['keys']
                if not key.startswith(HEAD_PREFIX)]
    actual = [(key, list(value.shape))
              for key, value in backbone.state_dict().items()]
    assert actual == expected  # same keys, shapes and order

    head = nn.Linear(1024, layout['num_classes'])
    n_params = sum(p.numel() for p in backbone.parameters())
    n_params += sum(p.numel() for p in head.parameters())
    assert n_params == layout['params']


def _conv_len(length, k, s, pad):
    return (length + pad - k) // s + 1


def _pool_len(length, k, s, pad):
    # MaxPool3d(ceil_mode=True) on an input already padded by `pad`: the last
    # window must start inside the (padded) input.
    padded = length + pad
    out = math.ceil((padded - k) / s) + 1
    if (out - 1) * s >= padded:
        out -= 1
    return out


def _expected_size(length, temporal):
    """Walk one dimension through the port's stem and pools.

    'SAME' padding is max(k - s, 0) in total; for the stride-2 stem conv an
    odd clip length is padded by k - 1 in time (the port's T % stride rule).
    Stride-1 convolutions keep the size.
    """
    stem_pad = 6 if temporal and length % 2 else 5
    length = _conv_len(length, 7, 2, stem_pad)          # conv3d_1a_7x7
    if not temporal:
        length = _pool_len(length, 3, 2, 1)             # maxPool3d_2a_3x3
        length = _pool_len(length, 3, 2, 1)             # maxPool3d_3a_3x3
    length = _pool_len(length, 3, 2, 1)                 # maxPool3d_4a_3x3
    length = _pool_len(length, 2, 2, 0)                 # maxPool3d_5a_2x2
    return length


@pytest.mark.parametrize('shape', [(1, 3, 16, 64, 64), (1, 3, 32, 64, 64),
                                   (2, 3, 15, 33, 40)])
def test_output_shape(backbone, shape):
    n, _, t, h, w = shape
    with torch.no_grad():
        out = backbone(torch.randn(shape))
    expected = (n, 1024, _expected_size(t, True), _expected_size(h, False),
                _expected_size(w, False))
    assert tuple(out.shape) == expected


def test_expected_size_rule():
    # The rule gives I3D's usual /8 in time and /32 in space.
    assert _expected_size(16, True) == 2
    assert _expected_size(32, True) == 4
    assert _expected_size(64, True) == 8
    assert _expected_size(224, False) == 7
    assert _expected_size(64, False) == 2


def test_padding_is_tf_same_and_zero_valued():
    model = InceptionI3D()
    # Stem: (2, 3) per dimension for even clips, (3, 3) in time for odd ones.
    pads = [p.padding for p in model.conv3d_1a_7x7.pads]
    assert pads == [(2, 3, 2, 3, 2, 3), (2, 3, 2, 3, 3, 3)]
    assert all(p.value == 0 for p in model.conv3d_1a_7x7.pads)
    assert model.maxPool3d_2a_3x3.pad.padding == (0, 1, 0, 1, 0, 0)
    assert model.maxPool3d_4a_3x3.pad.padding == (0, 1, 0, 1, 0, 1)
    assert model.maxPool3d_5a_2x2.pad.padding == (0, 0, 0, 0, 0, 0)
    assert model.maxPool3d_4a_3x3.pool.ceil_mode
    assert model.mixed_3b.branch_3[0].pad.padding == (1, 1, 1, 1, 1, 1)
    assert model.mixed_3b.branch_1[1].conv3d.padding == (1, 1, 1)
    assert model.conv3d_1a_7x7.conv3d.stride == (2, 2, 2)
    assert model.conv3d_1a_7x7.batch3d.eps == 1e-3


def test_in_channels():
    model = InceptionI3D(in_channels=2)
    assert model.conv3d_1a_7x7.conv3d.weight.shape == (64, 2, 7, 7, 7)


def test_frozen_stages_and_norm_eval():
    model = InceptionI3D(frozen_stages=1, norm_eval=False)
    model.train()
    for name in ('conv3d_1a_7x7', 'conv3d_2b_1x1', 'conv3d_2c_3x3'):
        module = getattr(model, name)
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    assert model.mixed_3b.training
    assert all(p.requires_grad for p in model.mixed_3b.parameters())
    assert model.mixed_3b.branch_0.batch3d.training

    model = InceptionI3D(norm_eval=True)
    model.train()
    assert model.training
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]
    assert bns and not any(bn.training for bn in bns)
    assert all(p.requires_grad for p in model.parameters())

    with pytest.raises(ValueError):
        InceptionI3D(frozen_stages=5)


def test_init_weights():
    model = InceptionI3D()
    model.init_weights()
    bn = model.mixed_4b.branch_0.batch3d
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
