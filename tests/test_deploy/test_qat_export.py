"""QDQ int8 export of a quantization-aware trained model (configs/qat_mbv3d.py)
to ONNX Runtime and OpenVINO, int8 parity with PyTorch, int8 benchmark rows."""
import json
from collections import Counter

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from conftest import REPO_ROOT
from qd_plugin.benchmark import benchmark_model
from qd_plugin.deploy import (OnnxRuntime, OpenVINORuntime, ParityError,
                              deploy)
from qd_plugin.deploy.data import load_samples
from qd_plugin.deploy.qat_export import (check_int8_runtimes,
                                         fake_quant_scores)
from qd_plugin.deploy.qdq import export_qdq_onnx
from qd_plugin.deploy.runtimes import TorchInt8Runtime
from qd_plugin.quantization import build_qat_model
from tiny_deploy import (INPUT_SHAPE, qat_checkpoint,  # noqa: F401
                         tiny_deploy_config, tiny_qat, tiny_setup)

NUM_CONVS = 27  # stem + 13 depthwise-separable blocks


def test_qdq_graph_matches_the_fake_quant_model(tiny_qat, tmp_path):
    cfg, checkpoint = tiny_qat
    model = build_qat_model(cfg, checkpoint)
    inputs, _ = load_samples(cfg, 2, model.data_preprocessor)
    path = export_qdq_onnx(model, inputs[:1], str(tmp_path / 'qdq.onnx'))

    graph = onnx.load(path)
    assert [o.version for o in graph.opset_import if o.domain == ''] == [13]
    ops = Counter(n.op_type for n in graph.graph.node)
    assert ops['Conv'] == NUM_CONVS and ops['Gemm'] == 1
    # Every conv/fc weight is stored in 8 bits behind a DequantizeLinear;
    # activations are quantized (input, after each ReLU, ...).
    int8_weights = [
        t for t in graph.graph.initializer
        if t.data_type == onnx.TensorProto.INT8 and len(t.dims) > 1
    ]
    assert len(int8_weights) == NUM_CONVS + 1
    assert ops['DequantizeLinear'] == ops['QuantizeLinear'] + NUM_CONVS + 1
    assert not [n for n in graph.graph.node if n.domain]  # standard ops only
    assert ops['Identity'] == 0  # cleaned up
    float_params = sum(
        numpy_helper.to_array(t).size for t in graph.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT)
    num_params = sum(p.numel() for p in model.architecture.parameters())
    assert float_params < num_params / 10  # biases and scales only

    # Same class scores as the fake-quantized PyTorch model.
    scores = OnnxRuntime(path).run_batched(inputs.numpy())
    np.testing.assert_allclose(
        scores, fake_quant_scores(model, inputs), atol=2e-2)
    assert scores.shape == (2, 34)


def test_qdq_cleanup_keeps_the_outputs(tiny_qat, tmp_path):
    """The cleaned graph computes exactly what the raw export does, in ONNX
    Runtime and in OpenVINO, with one re-quantization fewer: the input's
    after its reshape (the Flatten's pair stays, ONNX Runtime's int8 Gemm
    needs it)."""
    cfg, checkpoint = tiny_qat
    model = build_qat_model(cfg, checkpoint)
    inputs, _ = load_samples(cfg, 2, model.data_preprocessor)
    raw = export_qdq_onnx(
        model, inputs[:1], str(tmp_path / 'raw.onnx'), cleanup=False)
    clean = export_qdq_onnx(model, inputs[:1], str(tmp_path / 'clean.onnx'))
    array = inputs.numpy()
    for runtime in (OnnxRuntime, OpenVINORuntime):
        np.testing.assert_array_equal(
            runtime(clean).run_batched(array),
            runtime(raw).run_batched(array))
    raw_ops = Counter(n.op_type for n in onnx.load(raw).graph.node)
    ops = Counter(n.op_type for n in onnx.load(clean).graph.node)
    assert raw_ops['Identity'] > 0 and ops['Identity'] == 0
    assert ops['QuantizeLinear'] == raw_ops['QuantizeLinear'] - 1
    assert (tmp_path / 'clean.onnx').stat().st_size < \
        0.97 * (tmp_path / 'raw.onnx').stat().st_size


def corrupt_int8_weights(path: str, mode: str, out: str) -> str:
    """Shuffle or zero every int8 weight of a QDQ model."""
    model = onnx.load(path)
    rng = np.random.default_rng(0)
    for tensor in model.graph.initializer:
        if tensor.data_type == onnx.TensorProto.INT8 and len(tensor.dims) > 1:
            weight = numpy_helper.to_array(tensor)
            weight = rng.permutation(weight.ravel()).reshape(
                weight.shape) if mode == 'shuffle' else np.zeros_like(weight)
            tensor.CopyFrom(numpy_helper.from_array(weight, tensor.name))
    onnx.save(model, out)
    return out


@pytest.mark.parametrize('mode', ['shuffle', 'zero'])
def test_int8_check_fails_on_a_corrupted_model(tiny_qat, tmp_path, mode):
    """The tie-aware criterion excuses near ties of the untrained model, not
    a model with wrong weights."""
    cfg, checkpoint = tiny_qat
    model = build_qat_model(cfg, checkpoint)
    inputs, _ = load_samples(cfg, 2, model.data_preprocessor)
    path = export_qdq_onnx(model, inputs[:1], str(tmp_path / 'qdq.onnx'))
    check_int8_runtimes(model, [OnnxRuntime(path)], inputs, 0.9)  # intact

    corrupted = corrupt_int8_weights(path, mode,
                                     str(tmp_path / f'{mode}.onnx'))
    with pytest.raises(ParityError, match='parity check FAILED') as error:
        check_int8_runtimes(model, [OnnxRuntime(corrupted)], inputs, 0.9)
    assert 'tie-aware agreement' in str(error.value)


def test_qat_deploy_openvino(tiny_qat, tmp_path):
    """The default, tie-aware int8 check passes the untrained tiny model
    (ONNX Runtime's int8 kernels flip one of its near-tied samples)."""
    cfg, checkpoint = tiny_qat
    work_dir = tmp_path / 'qat_openvino'
    result = deploy(
        tiny_deploy_config('video-recognition_3d_openvino_static'),
        cfg,
        checkpoint,
        str(work_dir),
        num_samples=2)
    for name in ('end2end.onnx', 'end2end.xml', 'end2end.bin', 'deploy.json',
                 'pipeline.json', 'detail.json', 'parity.json'):
        assert (work_dir / name).is_file(), name
    records = {(p.runtime, p.reference): p for p in result.parities}
    assert set(records) == {
        ('onnxruntime int8', 'PyTorch int8 (x86)'),
        ('onnxruntime int8', 'PyTorch fake-quant'),
        ('openvino int8', 'PyTorch int8 (x86)'),
        ('openvino int8', 'PyTorch fake-quant'),
    }
    # OpenVINO executes the QDQ graph as the fake-quant model computes it.
    openvino = records[('openvino int8', 'PyTorch fake-quant')]
    assert openvino.scale == 'log_prob' and openvino.max_abs_diff < 0.05
    assert openvino.max_abs_prob_diff < 1e-3
    assert openvino.top1_agreement == 1.0
    assert records[('openvino int8',
                    'PyTorch int8 (x86)')].top1_agreement == 1.0
    for parity in records.values():
        if parity.reference == 'PyTorch int8 (x86)':
            assert parity.tie_aware_agreement == 1.0, parity
    saved = json.loads((work_dir / 'parity.json').read_text())
    assert {'near_tie_flips', 'tie_aware_agreement'} <= set(saved[0])
    sdk = json.loads((work_dir / 'deploy.json').read_text())
    assert sdk['models'][0]['precision'] == 'INT8'
    assert sdk['models'][0]['net'] == 'end2end.xml'
    # The int8 IR is smaller than the float IR would be (8-bit weights).
    architecture = build_qat_model(cfg, None).architecture
    float_bytes = 4 * sum(p.numel() for p in architecture.parameters())
    assert (work_dir / 'end2end.bin').stat().st_size < float_bytes / 2


def test_int8_agreement_below_the_minimum_fails(tiny_qat, tmp_path):
    cfg, checkpoint = tiny_qat
    model = build_qat_model(cfg, checkpoint)
    inputs, _ = load_samples(cfg, 2, model.data_preprocessor)

    class Reversed(TorchInt8Runtime):
        """Scores of the classes in reverse order: top-1 always differs."""

        def __call__(self, x):
            return super().__call__(x)[:, ::-1].copy()

    wrong = Reversed(model, inputs[:1])
    wrong.name = 'reversed'
    with pytest.raises(ParityError, match='top-1 agreement 0%'):
        check_int8_runtimes(model, [wrong], inputs, 0.5)


def test_benchmark_int8_rows(tiny_driveact, tiny_qat, tmp_path):
    qat_cfg, qat_checkpoint = tiny_qat
    (tmp_path / 'float').mkdir()
    tiny = tiny_setup(tiny_driveact, tmp_path / 'float')
    result = benchmark_model(
        tiny['cfg'],
        str(tiny['checkpoint']),
        str(tmp_path / 'bench.json'),
        str(REPO_ROOT / 'configs' / 'deploy' /
            'video-recognition_3d_onnxruntime_static.py'),
        threads=1,
        iters=1,
        warmup=0,
        num_samples=1,
        rows=['torch_fp32', 'torch_int8_qat', 'qdq_int8_qat',
              'qdq_int8_qat_uint8'],
        qat_config=qat_cfg,
        qat_checkpoint=qat_checkpoint)
    everything = {r['key']: r for r in result['rows']}
    rows = {r['key']: r for r in result['rows']
            if r['input'] == 'tensor' and r['batch'] == 1}
    # Our uint8-input exports take the frames only, in both layouts and on
    # both grids, checked against PyTorch int8 like the float-input export.
    uint8 = {key: r for key, r in everything.items() if '_uint8' in key}
    assert {key for key, r in uint8.items() if r['batch'] == 1} == {
        'qdq_int8_qat_uint8_openvino', 'qdq_int8_qat_uint8_nthwc_openvino',
        'qdq_int8_qat_uint8_framesgrid_openvino',
        'qdq_int8_qat_uint8_nthwc_framesgrid_openvino'}
    for key, row in uint8.items():
        assert row['input'] == 'frames', key
        assert row['agreement_with'] == 'torch_int8_qat_x86'
        assert row['size_mb'] == pytest.approx(
            everything['qdq_int8_qat_openvino']['size_mb'], abs=0.01)
    assert everything['qdq_int8_qat_uint8_openvino_b6']['batch'] == 6
    expected = {
        'torch_fp32': ('torch', 'fp32'),
        'qdq_int8_qat_openvino': ('openvino', 'int8 (QAT, QDQ)'),
        'qdq_int8_qat_openvino_ir': ('openvino', 'int8 (QAT, QDQ, IR)'),
        'qdq_int8_qat_onnxruntime': ('onnxruntime', 'int8 (QAT, QDQ)')
    }
    expected.update({
        f'torch_int8_qat_{engine}': ('torch', f'int8 (QAT, {engine})')
        for engine in ('x86', 'fbgemm')
        if engine in torch.backends.quantized.supported_engines
    })
    assert {key: (r['runtime'], r['precision'])
            for key, r in rows.items()} == expected
    # The exports are checked against PyTorch's int8 model.
    assert {rows[key]['agreement_with'] for key in rows
            if key.startswith('qdq_')} == {'torch_int8_qat_x86'}
    assert tuple(INPUT_SHAPE) == tuple(
        int(d) for d in result['settings']['input_shape'].split('x'))
    # Each size is that of the artifact the row loaded: OpenVINO reads the
    # QDQ ONNX itself (the smallest file) or its IR (.xml + .bin).
    models = tmp_path / 'bench_models'
    from_onnx = rows['qdq_int8_qat_openvino']
    assert from_onnx['size_of'] == 'qat_qdq.onnx'
    assert from_onnx['size_mb'] == round(
        (models / 'qat_qdq.onnx').stat().st_size / 1e6, 3)
    from_ir = rows['qdq_int8_qat_openvino_ir']
    assert from_ir['size_of'] == 'qat_qdq.xml + qat_qdq.bin'
    assert from_ir['size_mb'] > from_onnx['size_mb']
    assert rows['torch_fp32']['size_of'] == 'state_dict (torch.save)'
    assert from_onnx['size_ratio_vs_torch_fp32'] > 3
