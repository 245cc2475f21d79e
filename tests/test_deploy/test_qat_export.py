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
from qd_plugin.deploy import OnnxRuntime, ParityError, deploy
from qd_plugin.deploy.data import load_samples
from qd_plugin.deploy.qat import (TorchInt8Runtime, build_qat_model,
                                  check_int8_runtimes, fake_quant_scores)
from qd_plugin.deploy.qdq import export_qdq_onnx
from tiny_deploy import (INPUT_SHAPE, tiny_deploy_config, tiny_qat_config,
                         tiny_setup, write_tiny_qat_checkpoint)

NUM_CONVS = 27  # stem + 13 depthwise-separable blocks


@pytest.fixture(scope='module')
def qat_checkpoint(tmp_path_factory):
    """Written once: it depends on the model only, not on the data."""
    path = tmp_path_factory.mktemp('qat')
    cfg = tiny_qat_config(dict(ann_root='unused', video_root='unused'),
                          path / 'work')
    return str(write_tiny_qat_checkpoint(cfg, path / 'qat.pth'))


@pytest.fixture
def tiny_qat(tiny_driveact, tmp_path, qat_checkpoint):
    return tiny_qat_config(tiny_driveact, tmp_path / 'work'), qat_checkpoint


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


def test_qat_deploy_openvino(tiny_qat, tmp_path):
    cfg, checkpoint = tiny_qat
    work_dir = tmp_path / 'qat_openvino'
    result = deploy(
        tiny_deploy_config('video-recognition_3d_openvino_static'),
        cfg,
        checkpoint,
        str(work_dir),
        num_samples=2,
        min_int8_agreement=0.0)
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
    assert openvino.max_abs_diff < 1e-3 and openvino.top1_agreement == 1.0
    assert records[('openvino int8',
                    'PyTorch int8 (x86)')].top1_agreement == 1.0
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
        rows=['torch_fp32', 'torch_int8_qat', 'qdq_int8_qat'],
        qat_config=qat_cfg,
        qat_checkpoint=qat_checkpoint)
    rows = {(r['runtime'], r['precision']) for r in result['rows']}
    expected = {('torch', 'fp32'), ('openvino', 'int8 (QAT, QDQ)'),
                ('onnxruntime', 'int8 (QAT, QDQ)')}
    expected |= {('torch', f'int8 (QAT, {engine})')
                 for engine in ('x86', 'fbgemm')
                 if engine in torch.backends.quantized.supported_engines}
    assert rows == expected
    assert tuple(INPUT_SHAPE) == tuple(
        int(d) for d in result['settings']['input_shape'].split('x'))
