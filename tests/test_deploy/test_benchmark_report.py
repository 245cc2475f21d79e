"""The benchmark's report parts: CPU facts, the int8 limit, our export
against the fastest alternative."""
import numpy as np
import pytest
import torch.nn as nn

from qd_plugin.benchmark.int8_limit import int8_peak, limit_summary, model_macs
from qd_plugin.benchmark.kernels import cpu_flags, environment, isa_line
from qd_plugin.benchmark.run import head_to_head


def test_cpu_flags_and_environment(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('model name\t: Some CPU\nflags\t\t: fpu sse avx2 '
                       'avx512f avx512_vnni amx_int8 amx_tile\n')
    assert cpu_flags(str(cpuinfo)) == ['avx2', 'avx512f', 'avx512_vnni',
                                       'amx_tile', 'amx_int8']
    assert cpu_flags(str(tmp_path / 'missing')) == []
    env = environment(threads=2)
    assert env['threads'] == 2 and 'openvino' in env and 'nncf' in env
    line = isa_line(dict(cpu='X', isa=['avx2'], threads=2))
    assert line == 'X, ISA avx2, 2 threads'


def test_model_macs_counts_convolutions_and_linear_layers():
    model = nn.Sequential(
        nn.Conv3d(3, 8, 3, padding=1),  # 8 x (4x8x8) outputs x 3*27 MACs
        nn.Conv3d(8, 8, 3, padding=1, groups=8),  # depthwise: 27 each
        nn.Flatten(), nn.Linear(8 * 4 * 8 * 8, 10))
    import torch
    outputs = 8 * 4 * 8 * 8
    assert model_macs(model, torch.zeros(1, 3, 4, 8, 8)) == (
        outputs * 3 * 27 + outputs * 27 + 10 * outputs)


def test_int8_peak_and_shares():
    pytest.importorskip('openvino')
    peak = int8_peak(1, m=64, k=256, n=256, iters=2)
    assert peak['gmacs_per_s'] > 0 and peak['kernel']
    assert peak['shape'] == [64, 256, 256]
    limit = limit_summary(10**9, dict(peak, gmacs_per_s=1000.0),
                          {'ours': 4.0})
    # 1 GMAC at 1000 GMAC/s takes 1 ms: 4 ms is 25% of the peak.
    assert limit['rows']['ours'] == dict(gmacs_per_s=250.0, of_peak=0.25,
                                         limit_ms=1.0)
    assert 'ours 250.0 GMAC/s = 25.0% of it' in limit['summary']


def row(key, p50, kind='frames', batch=1, precision='int8'):
    return dict(key=key, p50_ms=p50, input=kind, batch=batch,
                precision=precision, throughput_clips_per_s=batch * 1e3 / p50)


def test_head_to_head_takes_the_fastest_of_each_side():
    rows = [
        row('qdq_int8_qat_uint8_openvino', 4.0),
        row('qdq_int8_qat_openvino_frames', 5.0),
        row('nncf_ptq_openvino_frames', 6.0),
        row('peer_ort_ptq_u8_openvino_frames', 5.5),
        row('torch_int8_qat_x86_frames', 8.0),
        row('openvino_fp32_frames', 1.0, precision='fp32'),  # not int8
        row('qdq_int8_qat_openvino', 3.0, kind='tensor'),
    ]
    (frames, ) = head_to_head(rows)
    assert (frames['ours'], frames['peer']) == (
        'qdq_int8_qat_uint8_openvino', 'peer_ort_ptq_u8_openvino_frames')
    assert frames['p50_ratio'] == pytest.approx(4.0 / 5.5, abs=1e-3)
    assert np.isclose(frames['ours_clips_per_s'], 250.0)


def test_openvino_streams_give_each_clip_its_batch_1_scores(tmp_path):
    """The batch rows' runner: 6 clips as concurrent requests, in order."""
    pytest.importorskip('openvino')
    import torch

    from qd_plugin.benchmark.streams import OpenVINOStreams
    from qd_plugin.deploy import OpenVINORuntime
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(3, 4, 3), nn.ReLU(), nn.Flatten(),
                          nn.LazyLinear(5)).eval()
    example = torch.randn(1, 3, 4, 8, 8)
    model(example)
    path = str(tmp_path / 'tiny.onnx')
    torch.onnx.export(model, (example, ), path, dynamo=False)
    clips = np.random.default_rng(0).normal(
        size=(6, 3, 4, 8, 8)).astype(np.float32)
    expected = OpenVINORuntime(path, 1).run_batched(clips)
    got = OpenVINOStreams(path, 2)(clips)
    assert got.shape == (6, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
