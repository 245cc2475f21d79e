"""Per-layer profiles (qd_plugin.benchmark.layer_profile) of a small
convolution net in OpenVINO and PyTorch, and benchmarks/profile_layers.py on
the tiny QAT model."""
import json
import subprocess
import sys

import numpy as np
import torch

from conftest import REPO_ROOT
from qd_plugin.benchmark import profile_models, write_profile_report
from qd_plugin.deploy import OpenVINORuntime
from tiny_deploy import (tiny_qat_config, tiny_setup,
                         write_tiny_qat_checkpoint)


def small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()


def test_profiles_of_openvino_and_torch(tmp_path):
    net = small_net()
    x = np.random.default_rng(0).normal(size=(1, 3, 16, 16)).astype(
        np.float32)
    path = str(tmp_path / 'net.onnx')
    torch.onnx.export(net, (torch.from_numpy(x), ), path, dynamo=False,
                      input_names=['input'], output_names=['output'])

    def in_torch(inputs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(inputs)).numpy()

    models = {
        'openvino': OpenVINORuntime(path, threads=1, perf_count=True),
        'torch': in_torch
    }
    profiles = profile_models(models, x, iters=3, warmup=1, settle_s=0)

    assert [p.label for p in profiles] == ['openvino', 'torch']
    for prof in profiles:
        assert len(prof.wall_ms) == 3 and prof.total_ms > 0
        assert [layer['ms'] for layer in prof.layers] == sorted(
            (layer['ms'] for layer in prof.layers), reverse=True)
        shares = [row['share'] for row in prof.by_type()]
        assert abs(sum(shares) - 1) < 1e-6
    openvino, in_pytorch = profiles
    assert 'Convolution' in {layer['type'] for layer in openvino.layers}
    convs = [layer for layer in in_pytorch.layers
             if layer['type'] == 'aten::conv2d']
    # One row per call: two convolutions, named by their call index.
    assert len(convs) == 2 and convs[0]['name'] != convs[1]['name']
    assert {c['kernel'] for c in convs} == {'[1, 3, 16, 16]',
                                            '[1, 8, 16, 16]'}

    paths = write_profile_report(profiles, str(tmp_path / 'out'),
                                 dict(threads=1, iters=3), top=4)
    report = json.loads(open(paths['json']).read())
    assert [m['label'] for m in report['models']] == ['openvino', 'torch']
    assert report['models'][0]['by_type'][0]['share'] > 0
    table = open(paths['md']).read()
    assert '## openvino' in table and '| layer | type | kernel | ms |' in table
    assert open(paths['png'], 'rb').read().startswith(b'\x89PNG')


def test_profile_layers_tool(tiny_driveact, tmp_path):
    tiny = tiny_setup(tiny_driveact, tmp_path)
    qat_cfg = tiny_qat_config(tiny_driveact, tmp_path / 'qat_work')
    qat_cfg.dump(str(tmp_path / 'qat_tiny.py'))
    qat_checkpoint = write_tiny_qat_checkpoint(qat_cfg, tmp_path / 'qat.pth')
    out = tmp_path / 'profile'
    result = subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'benchmarks' / 'profile_layers.py'),
        str(tiny['model']),
        str(tiny['checkpoint']), '--qat-config',
        str(tmp_path / 'qat_tiny.py'), '--qat-checkpoint',
        str(qat_checkpoint), '--threads', '1', '--iters', '2', '--warmup',
        '0', '--settle', '0', '--num-calibration', '1', '--raw-qdq',
        '--top', '5', '--out',
        str(out)
    ], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / 'profile.json').read_text())
    assert [m['label'] for m in report['models']] == [
        'torch int8 (QAT, x86)', 'openvino int8 (QAT, QDQ)',
        'openvino int8 (QAT, QDQ, raw export)',
        'openvino int8 (peer: ORT PTQ)'
    ]
    assert report['settings']['threads'] == 1
    assert (out / 'profile.png').is_file()
    assert (out / 'models' / 'qat_qdq.onnx').is_file()
    assert '## openvino int8 (peer: ORT PTQ)' in result.stdout
