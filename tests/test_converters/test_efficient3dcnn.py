"""The Efficient-3DCNNs converter against an independent reference model.

``_Efficient3DCNNsMobileNet`` re-creates the released model's module tree
(``features.N`` / ``classifier.1``) and forward pass, so its state dict has the
layout of ``kinetics_mobilenet_0.5x_RGB_16_best.pth``.
"""
import json
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.runner import load_checkpoint

from conftest import FIXTURES, REPO_ROOT
from mmaction.registry import MODELS
from qd_plugin.converters import convert_efficient3dcnn_mobilenet

FIXTURE = json.loads(
    (FIXTURES / 'efficient3dcnn_mobilenet_0.5x.keys.json').read_text())


class _Block(nn.Module):

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm3d(cin)
        self.conv2 = nn.Conv3d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class _Efficient3DCNNsMobileNet(nn.Module):

    def __init__(self, num_classes, width_mult=0.5):
        super().__init__()
        channels = int(32 * width_mult)
        layers = [
            nn.Sequential(
                nn.Conv3d(3, channels, 3, (1, 2, 2), 1, bias=False),
                nn.BatchNorm3d(channels), nn.ReLU())
        ]
        for c, n, s in [(64, 1, 2), (128, 2, 2), (256, 2, 2), (512, 6, 2),
                        (1024, 2, 1)]:
            for i in range(n):
                layers.append(
                    _Block(channels, int(c * width_mult), s if i == 0 else 1))
                channels = int(c * width_mult)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2), nn.Linear(channels, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.avg_pool3d(x, x.shape[-3:]).flatten(1)
        return self.classifier(x)


def randomized_reference(num_classes=34):
    torch.manual_seed(0)
    model = _Efficient3DCNNsMobileNet(num_classes)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def released_checkpoint(model):
    """The layout of the released file: DataParallel keys in ``state_dict``."""
    return dict(
        epoch=1,
        arch='mobilenet',
        state_dict={f'module.{k}': v
                    for k, v in model.state_dict().items()})


def build_recognizer(num_classes=34):
    return MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(type='MobileNet3D', width_mult=0.5),
            cls_head=dict(
                type='I3DHead', in_channels=512, num_classes=num_classes),
            data_preprocessor=dict(type='ActionDataPreprocessor'))).eval()


def test_reference_has_the_released_layout():
    layout = [[k, list(v.shape)]
              for k, v in randomized_reference().state_dict().items()]
    assert layout == FIXTURE['keys']


def test_converted_weights_reproduce_the_logits():
    reference = randomized_reference()
    converted = convert_efficient3dcnn_mobilenet(
        released_checkpoint(reference))
    recognizer = build_recognizer()
    assert set(converted) == set(recognizer.state_dict())
    assert len(converted) == len(FIXTURE['keys'])
    recognizer.load_state_dict(converted, strict=True)
    clip = torch.randn(2, 3, 16, 64, 64)
    with torch.no_grad():
        expected = reference(clip)
        actual = recognizer.cls_head(recognizer.extract_feat(clip[:, None])[0])
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)


def test_drop_classifier_and_plain_state_dict():
    reference = randomized_reference(num_classes=600)
    converted = convert_efficient3dcnn_mobilenet(
        reference.state_dict(), keep_classifier=False)
    assert not any(k.startswith('cls_head.') for k in converted)
    assert len(converted) == len(FIXTURE['keys']) - 2


def test_unknown_key_is_named():
    with pytest.raises(KeyError, match='features.99.conv3.weight'):
        convert_efficient3dcnn_mobilenet(
            {'features.99.conv3.weight': torch.zeros(1)})


def test_cli_writes_a_checkpoint_configs_load(tmp_path):
    src, dst = tmp_path / 'released.pth', tmp_path / 'converted.pth'
    torch.save(released_checkpoint(randomized_reference(600)), src)
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'convert_ckpt.py'),
               'efficient3dcnn', str(src), str(dst), '--drop-classifier']
    subprocess.run(command, check=True, capture_output=True)
    recognizer = build_recognizer()
    load_checkpoint(recognizer, str(dst), strict=False)
    expected = convert_efficient3dcnn_mobilenet(
        torch.load(src), keep_classifier=False)
    for key, value in expected.items():
        torch.testing.assert_close(recognizer.state_dict()[key], value)
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode != 0
    assert f'{dst} exists; pass --overwrite' in again.stderr
