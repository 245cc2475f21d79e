"""tools/benchmark.py: PyTorch, ONNX Runtime, OpenVINO and the peer PTQ rows
side by side, JSON + Markdown table + bar chart."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from qd_plugin.benchmark import (REQUIRED_KEYS, ROW_BUILDERS, BenchCase,
                                 benchmark_model, register_rows, time_cases)
from qd_plugin.deploy import deploy
from tiny_deploy import tiny_deploy_config, tiny_setup

#: Row key -> (runtime, precision), its display label.
FLOAT_AND_PEER_ROWS = {
    'torch_fp32': ('torch', 'fp32'),
    'onnxruntime_fp32': ('onnxruntime', 'fp32'),
    'openvino_fp32': ('openvino', 'fp32'),
    'peer_ort_ptq_openvino': ('openvino', 'int8 (peer: ORT PTQ)'),
    'peer_ort_ptq_onnxruntime': ('onnxruntime', 'int8 (peer: ORT PTQ)'),
    'peer_ort_ptq_u8_openvino':
    ('openvino', 'int8 (peer: ORT PTQ, u8 activations)'),
    'peer_ort_ptq_u8_onnxruntime':
    ('onnxruntime', 'int8 (peer: ORT PTQ, u8 activations)'),
}


def activation_zero_point_types(path):
    """Element types of the zero points of the QuantizeLinear nodes (the
    activations: weights are stored quantized)."""
    import onnx
    model = onnx.load(str(path))
    types = {t.name: t.data_type for t in model.graph.initializer}
    return {
        onnx.TensorProto.DataType.Name(types[node.input[2]])
        for node in model.graph.node if node.op_type == 'QuantizeLinear'
    }


def check_rows(rows):
    assert {r['key']: (r['runtime'], r['precision'])
            for r in rows} == FLOAT_AND_PEER_ROWS
    for row in rows:
        assert set(REQUIRED_KEYS) <= set(row)
        assert row['p90_ms'] >= row['p50_ms'] > 0
        assert row['throughput_clips_per_s'] > 0 and row['size_mb'] > 0
        if row['precision'] == 'fp32':  # same weights everywhere
            assert row['top1_agreement'] == 1.0, row
    by_key = {r['key']: r for r in rows}
    assert by_key['torch_fp32']['speedup_vs_torch_fp32'] == 1.0
    assert {r['agreement_with'] for r in rows} == {'torch_fp32'}
    # int8 weights: the QDQ model is smaller than the float ONNX.
    assert by_key['peer_ort_ptq_onnxruntime']['size_mb'] < \
        by_key['onnxruntime_fp32']['size_mb']


def test_benchmark_tool(tiny_driveact, tmp_path):
    tiny_cfg_files = tiny_setup(tiny_driveact, tmp_path)
    out = tmp_path / 'bench' / 'tiny.json'
    result = subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'tools' / 'benchmark.py'),
        str(tiny_cfg_files['model']),
        str(tiny_cfg_files['checkpoint']), '--threads', '1', '--iters', '2',
        '--warmup', '1', '--num-samples', '2', '--num-calibration', '1',
        '--out',
        str(out)
    ], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]

    report = json.loads(out.read_text())
    check_rows(report['rows'])
    assert report['settings']['input_shape'] == '1x1x3x4x32x32'
    assert report['settings']['threads'] == 1
    table = (tmp_path / 'bench' / 'tiny.md').read_text()
    assert '| runtime | precision | p50 ms | p90 ms |' in table
    assert table.count('\n| ') == 1 + len(FLOAT_AND_PEER_ROWS)
    assert table in result.stdout  # printed too
    png = (tmp_path / 'bench' / 'tiny.png').read_bytes()
    assert png.startswith(b'\x89PNG')
    # The models it made for the rows sit next to the results.
    models = tmp_path / 'bench' / 'tiny_models'
    assert activation_zero_point_types(
        models / 'peer_ort_ptq_qdq.onnx') == {'INT8'}
    assert activation_zero_point_types(
        models / 'peer_ort_ptq_u8_qdq.onnx') == {'UINT8'}


def test_benchmark_from_deploy_dir_with_an_extra_row(tiny_driveact, tmp_path):
    tiny = tiny_setup(tiny_driveact, tmp_path)
    tiny_model_cfg, tiny_checkpoint = tiny['cfg'], str(tiny['checkpoint'])
    deploy_dir = tmp_path / 'deploy'
    deploy(
        tiny_deploy_config('video-recognition_3d_openvino_static'),
        tiny_model_cfg, tiny_checkpoint, str(deploy_dir), num_samples=1)

    @register_rows('test_extra_row')
    def extra_rows(ctx):  # an extension point, as the int8 rows will be
        return [
            BenchCase('numpy', 'none', 'test', lambda x: np.zeros(
                (1, 34), np.float32), 0.001, key='numpy_zeros')
        ]

    try:
        result = benchmark_model(
            tiny_model_cfg,
            tiny_checkpoint,
            str(tmp_path / 'b.json'),
            str(REPO_ROOT / 'configs' / 'deploy' /
                'video-recognition_3d_onnxruntime_static.py'),
            deploy_dir=str(deploy_dir),
            threads=1,
            iters=2,
            warmup=0,
            num_samples=1,
            num_calibration=1)
    finally:
        ROW_BUILDERS.pop('test_extra_row')
    rows = result['rows']
    assert (rows[-1]['key'], rows[-1]['runtime']) == ('numpy_zeros', 'numpy')
    check_rows(rows[:-1])
    sources = {r['key']: r['source'] for r in rows}
    assert sources['onnxruntime_fp32'].endswith('deploy/end2end.onnx')
    assert sources['openvino_fp32'].endswith('deploy/end2end.xml')


def runs_of(calls, names):
    """Lengths of the maximal stretches of ``calls`` within ``names``."""
    lengths, current = [], 0
    for call in calls + ['']:
        if call in names:
            current += 1
        elif current:
            lengths.append(current)
            current = 0
    return lengths


def test_runtimes_are_timed_in_blocks_interleaved_within():
    calls = []

    def cases():
        return [
            BenchCase(runtime, name, '',
                      lambda x, name=name: calls.append(name), 1.0, key=name)
            for runtime, name in [('x', 'a'), ('y', 'd'), ('x', 'b'),
                                  ('x', 'c')]
        ]

    times = time_cases(cases(), np.zeros(1), iters=20, warmup=1, block=5)
    assert [len(t) for t in times] == [20, 20, 20, 20]
    # Warm-up (x then y), then 4 rounds of one block per runtime: an untimed
    # iteration and 5 timed ones; never a call of the other runtime within.
    assert calls[:4] in (list('abcd'), list('acbd'), list('bacd'),
                         list('bcad'), list('cabd'), list('cbad'))
    assert len(calls) == 4 + 4 * (6 * 3 + 6)
    assert all(n % 18 == 0 for n in runs_of(calls[4:], 'abc'))
    assert all(n % 6 == 0 for n in runs_of(calls[4:], 'd'))
    # Within x every iteration runs each case once, in a random order: no
    # case always follows the same other case.
    x_calls = [c for c in calls[4:] if c != 'd']
    iterations = [''.join(x_calls[i:i + 3]) for i in range(0, 72, 3)]
    assert all(sorted(it) == list('abc') for it in iterations)
    successions = {''.join(x_calls[i:i + 2]) for i in range(71)}
    assert {'ab', 'ba', 'bc', 'cb', 'ac', 'ca'} <= successions
    # Reproducible: the same seed, the same order.
    first, calls[:] = list(calls), []
    time_cases(cases(), np.zeros(1), iters=20, warmup=1, block=5)
    assert calls == first


def test_peer_activation_type_is_checked(tmp_path):
    from qd_plugin.benchmark.ptq import quantize_onnx_static
    with pytest.raises(ValueError, match="activations must be 's8' or 'u8', "
                       "got 'int4'"):
        quantize_onnx_static('float.onnx', str(tmp_path / 'q.onnx'),
                             np.zeros((1, 3)), activations='int4')
    assert not (tmp_path / 'q.onnx').exists()


def test_row_keys_must_be_unique():
    from qd_plugin.benchmark import build_cases

    def two_rows(ctx):
        return [
            BenchCase('x', 'a', '', lambda x: x, 1.0, key='same'),
            BenchCase('y', 'b', '', lambda x: x, 1.0, key='same')
        ]

    register_rows('test_duplicate_keys')(two_rows)
    try:
        with pytest.raises(KeyError, match=r"used twice: \['same'\]"):
            build_cases(None, ['test_duplicate_keys'])
        with pytest.raises(KeyError, match="no benchmark rows 'nope'"):
            build_cases(None, ['nope'])
    finally:
        ROW_BUILDERS.pop('test_duplicate_keys')
