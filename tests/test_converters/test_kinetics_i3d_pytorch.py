"""Tests of the kinetics_i3d_pytorch -> ``Recognizer3D`` converter.

``_PortI3D`` below is an independent re-implementation of the port's forward
pass (hassony2/kinetics_i3d_pytorch, ``src/i3dpt.py``) with the port's
module tree, so its ``state_dict`` has exactly the released checkpoint's
layout. Converted weights must make the MMAction2 recognizer reproduce it.
"""
import json
import re
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import FIXTURES
import qd_plugin.models.backbones.inception_i3d  # noqa: F401  (registers)
from mmaction.registry import MODELS
from mmaction.utils import register_all_modules
from qd_plugin.converters.kinetics_i3d_pytorch import \
    convert_kinetics_i3d_pytorch

FIXTURE = FIXTURES / 'kinetics_i3d_pytorch_rgb.keys.json'
NUM_CLASSES = 34
HEAD_KEYS = ('cls_head.fc_cls.weight', 'cls_head.fc_cls.bias')


def _tf_same(size, k, s, dynamic):
    """(before, after) padding of one dimension as the port computes it:
    k - s in total, except that a strided conv pads an input whose length is
    not a multiple of the stride by k - (length % s)."""
    total = k - (size % s if dynamic and size % s else s)
    total = max(total, 0)
    return total // 2, total - total // 2


class _PortUnit(nn.Module):
    """The port's ``Unit3Dpy``: SAME-padded conv3d [+ batch3d] [+ relu]."""

    def __init__(self, cin, cout, k=1, s=1, bias=False, bn=True, relu=True):
        super().__init__()
        self.k, self.s, self.relu = k, s, relu
        self.conv3d = nn.Conv3d(cin, cout, k, s, bias=bias)
        self.batch3d = nn.BatchNorm3d(cout, eps=1e-3) if bn else None

    def forward(self, x):
        t, h, w = x.shape[2:]
        pt = _tf_same(t, self.k, self.s, dynamic=self.s > 1)
        ph = _tf_same(h, self.k, self.s, dynamic=False)
        pw = _tf_same(w, self.k, self.s, dynamic=False)
        x = self.conv3d(F.pad(x, pw + ph + pt))
        if self.batch3d is not None:
            x = self.batch3d(x)
        return F.relu(x) if self.relu else x


class _PortPool(nn.Module):
    """The port's ``MaxPool3dTFPadding``: static zero pad, ceil-mode pool."""

    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        pad = ()
        for k, s in reversed(list(zip(self.k, self.s))):  # W, H, T
            pad += _tf_same(0, k, s, dynamic=False)
        return F.max_pool3d(F.pad(x, pad), self.k, self.s, ceil_mode=True)


class _PortMixed(nn.Module):

    def __init__(self, cin, c):
        super().__init__()
        self.branch_0 = _PortUnit(cin, c[0])
        self.branch_1 = nn.Sequential(
            _PortUnit(cin, c[1]), _PortUnit(c[1], c[2], 3))
        self.branch_2 = nn.Sequential(
            _PortUnit(cin, c[3]), _PortUnit(c[3], c[4], 3))
        self.branch_3 = nn.Sequential(
            _PortPool((3, 3, 3), (1, 1, 1)), _PortUnit(cin, c[5]))

    def forward(self, x):
        return torch.cat([
            self.branch_0(x), self.branch_1(x), self.branch_2(x),
            self.branch_3(x)
        ], 1)


class _PortI3D(nn.Module):
    """The port's ``I3D`` (RGB), logits only.

    The port's head is ``AvgPool3d((2, 7, 7), stride 1)`` -> dropout ->
    ``conv3d_0c_1x1`` (1x1x1 conv with bias) -> squeeze -> mean over time.
    At 16 frames of 224x224 the mixed_5c map is exactly 2x7x7, so that pool
    is a global average and the head equals global-avg-pool + linear, which
    is what ``I3DHead`` computes. Our test clips are small (the map is 2x2x2
    at 16x64x64), where a fixed (2, 7, 7) kernel does not fit, so the
    reference averages the whole map with an adaptive pool instead: the
    same operation the original performs at its native input size.
    """

    def __init__(self, num_classes):
        super().__init__()
        self.conv3d_1a_7x7 = _PortUnit(3, 64, 7, 2)
        self.maxPool3d_2a_3x3 = _PortPool((1, 3, 3), (1, 2, 2))
        self.conv3d_2b_1x1 = _PortUnit(64, 64)
        self.conv3d_2c_3x3 = _PortUnit(64, 192, 3)
        self.maxPool3d_3a_3x3 = _PortPool((1, 3, 3), (1, 2, 2))
        self.mixed_3b = _PortMixed(192, [64, 96, 128, 16, 32, 32])
        self.mixed_3c = _PortMixed(256, [128, 128, 192, 32, 96, 64])
        self.maxPool3d_4a_3x3 = _PortPool((3, 3, 3), (2, 2, 2))
        self.mixed_4b = _PortMixed(480, [192, 96, 208, 16, 48, 64])
        self.mixed_4c = _PortMixed(512, [160, 112, 224, 24, 64, 64])
        self.mixed_4d = _PortMixed(512, [128, 128, 256, 24, 64, 64])
        self.mixed_4e = _PortMixed(512, [112, 144, 288, 32, 64, 64])
        self.mixed_4f = _PortMixed(528, [256, 160, 320, 32, 128, 128])
        self.maxPool3d_5a_2x2 = _PortPool((2, 2, 2), (2, 2, 2))
        self.mixed_5b = _PortMixed(832, [256, 160, 320, 32, 128, 128])
        self.mixed_5c = _PortMixed(832, [384, 192, 384, 48, 128, 128])
        self.avg_pool = nn.AdaptiveAvgPool3d(1)  # see the class docstring
        self.dropout = nn.Dropout(0.5)
        self.conv3d_0c_1x1 = _PortUnit(
            1024, num_classes, bias=True, bn=False, relu=False)

    def forward(self, x):
        for name, module in self.named_children():
            if name in ('avg_pool', 'dropout', 'conv3d_0c_1x1'):
                continue
            x = module(x)
        x = self.conv3d_0c_1x1(self.dropout(self.avg_pool(x)))
        return x.squeeze(3).squeeze(3).mean(2)


def _randomize(model):
    """Random weights and BatchNorm statistics that keep activations O(1)."""
    gen = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            fan_in = module.weight[0].numel()
            module.weight.data = torch.randn(
                module.weight.shape, generator=gen) * (2. / fan_in)**0.5
            if module.bias is not None:
                module.bias.data = torch.randn(module.bias.shape, generator=gen)
        elif isinstance(module, nn.BatchNorm3d):
            c = module.num_features
            module.weight.data = 0.5 + torch.rand(c, generator=gen)
            module.bias.data = 0.2 * torch.randn(c, generator=gen)
            module.running_mean = 0.2 * torch.randn(c, generator=gen)
            module.running_var = 0.5 + torch.rand(c, generator=gen)
            module.num_batches_tracked.fill_(7)
    return model.eval()


@pytest.fixture(scope='module')
def port_model():
    return _randomize(_PortI3D(NUM_CLASSES))


@pytest.fixture(scope='module')
def port_state_dict(port_model):
    return port_model.state_dict()


def _build_recognizer():
    # The recognizer builds its default ActionDataPreprocessor by name, which
    # needs the mmaction default scope.
    register_all_modules(init_default_scope=True)
    return MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(type='InceptionI3D'),
            cls_head=dict(
                type='I3DHead',
                in_channels=1024,
                num_classes=NUM_CLASSES,
                dropout_ratio=0.5),
            data_preprocessor=None))


@pytest.fixture(scope='module')
def recognizer():
    return _build_recognizer().eval()


def test_reference_has_port_layout(port_state_dict):
    with open(FIXTURE) as f:
        layout = json.load(f)
    assert layout['num_classes'] == NUM_CLASSES
    actual = [[key, list(value.shape)]
              for key, value in port_state_dict.items()]
    assert actual == layout['keys']


@pytest.mark.parametrize('num_frames', [16, 15])
def test_converted_recognizer_matches_port(port_model, port_state_dict,
                                           recognizer, num_frames):
    converted = convert_kinetics_i3d_pytorch(port_state_dict)
    # Every source tensor is used, and nothing else is needed.
    assert len(converted) == len(port_state_dict)
    assert set(converted) == set(recognizer.state_dict())
    recognizer.load_state_dict(converted, strict=True)

    torch.manual_seed(1)
    clip = torch.randn(1, 3, num_frames, 64, 64)
    with torch.no_grad():
        expected = port_model(clip)
        # (N, num_crops, C, T, H, W) -> raw logits of the head.
        logits = recognizer(clip[:, None], mode='tensor', stage='head')
    assert expected.shape == (1, NUM_CLASSES)
    assert expected.abs().max() > 0.1  # a non-trivial comparison
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-4)


def test_head_mapping(port_state_dict):
    converted = convert_kinetics_i3d_pytorch(port_state_dict)
    weight = port_state_dict['conv3d_0c_1x1.conv3d.weight']
    assert converted['cls_head.fc_cls.weight'].shape == (NUM_CLASSES, 1024)
    torch.testing.assert_close(converted['cls_head.fc_cls.weight'],
                               weight[:, :, 0, 0, 0])
    torch.testing.assert_close(converted['cls_head.fc_cls.bias'],
                               port_state_dict['conv3d_0c_1x1.conv3d.bias'])
    assert all(key.startswith('backbone.') for key in converted
               if key not in HEAD_KEYS)


def test_drop_classifier(port_state_dict, recognizer):
    converted = convert_kinetics_i3d_pytorch(
        port_state_dict, keep_classifier=False)
    assert not any(key.startswith('cls_head.') for key in converted)
    assert set(converted) == set(recognizer.state_dict()) - set(HEAD_KEYS)
    # Also fine without the head in the source (e.g. a backbone-only file).
    backbone_only = {
        key: value
        for key, value in port_state_dict.items()
        if not key.startswith('conv3d_0c_1x1.')
    }
    assert convert_kinetics_i3d_pytorch(
        backbone_only, keep_classifier=False).keys() == converted.keys()


def test_wrapped_and_module_prefix(port_state_dict):
    plain = convert_kinetics_i3d_pytorch(port_state_dict)
    prefixed = OrderedDict(
        (f'module.{key}', value) for key, value in port_state_dict.items())
    for source in (prefixed, {'state_dict': prefixed},
                   {'state_dict': port_state_dict}):
        converted = convert_kinetics_i3d_pytorch(source)
        assert list(converted) == list(plain)
        assert all(
            converted[key].data_ptr() == plain[key].data_ptr()
            for key in plain)


def test_legacy_checkpoint_without_num_batches_tracked(port_state_dict):
    # model_rgb.pth predates PyTorch 0.4.1, which added num_batches_tracked.
    legacy = {
        key: value
        for key, value in port_state_dict.items()
        if not key.endswith('num_batches_tracked')
    }
    converted = convert_kinetics_i3d_pytorch(legacy)
    assert converted.keys() == convert_kinetics_i3d_pytorch(
        port_state_dict).keys()
    assert int(converted['backbone.mixed_5c.branch_0.batch3d.'
                         'num_batches_tracked']) == 0


def test_unknown_key_raises(port_state_dict):
    for bad_key in ('mixed_5d.branch_0.conv3d.weight', 'logits.weight',
                    'conv3d_1a_7x7.conv3d.bias'):
        source = dict(port_state_dict)
        source[bad_key] = torch.zeros(1)
        with pytest.raises(KeyError, match=re.escape(bad_key)):
            convert_kinetics_i3d_pytorch(source)


def test_missing_tensor_raises(port_state_dict):
    source = dict(port_state_dict)
    del source['mixed_4c.branch_2.1.batch3d.running_var']
    with pytest.raises(KeyError,
                       match=re.escape('mixed_4c.branch_2.1.batch3d.'
                                       'running_var')):
        convert_kinetics_i3d_pytorch(source)
    source = dict(port_state_dict)
    del source['conv3d_0c_1x1.conv3d.bias']
    with pytest.raises(KeyError, match='conv3d_0c_1x1'):
        convert_kinetics_i3d_pytorch(source)
    assert convert_kinetics_i3d_pytorch(source, keep_classifier=False)
