"""The uint8-input QDQ export: the normalisation folded into the input
quantization agrees (tie-aware) with the float-input export."""
import json

import numpy as np
import onnx
import pytest
import torch

from conftest import REPO_ROOT
from qd_plugin.benchmark.frames import Normalise
from qd_plugin.deploy import (OnnxRuntime, OpenVINORuntime, ParityError,
                              check_agreement, deploy)
from qd_plugin.deploy.qat_export import INT8_ATOL
from qd_plugin.deploy.qdq import export_qdq_onnx
from qd_plugin.deploy.uint8_input import (export_uint8_qdq_onnx,
                                          fold_input_normalisation,
                                          frames_to_inputs, inputs_to_frames,
                                          normalisation_of)
from qd_plugin.quantization import build_qat_model
from tiny_deploy import (CLIP_LEN, SIZE, qat_checkpoint,  # noqa: F401
                         tiny_deploy_config, tiny_qat, tiny_qat_config,
                         tiny_setup, write_tiny_qat_checkpoint)


def random_frames(num: int) -> np.ndarray:
    """Frames (num, T, H, W, 3) with every level, 0 and 255 included."""
    frames = np.random.default_rng(0).integers(
        0, 256, (num, CLIP_LEN, SIZE, SIZE, 3), dtype=np.uint8)
    frames[0, 0, :4] = 255  # saturates the QAT input quantizer
    frames[0, 0, 4:8] = 0
    return frames


@pytest.fixture(scope='module')
def frames_checkpoint(tmp_path_factory):
    """A tiny QAT model whose input quantizer saw normalised frames
    ([-1, 1]), as a trained one has."""
    path = tmp_path_factory.mktemp('qat_frames')
    cfg = tiny_qat_config(dict(ann_root='unused', video_root='unused'),
                          path / 'work')
    return str(write_tiny_qat_checkpoint(cfg, path / 'qat.pth', 'frames'))


@pytest.fixture
def exports(tiny_driveact, tmp_path, frames_checkpoint):
    """The QAT model, random frames, their float input and both exports."""
    cfg = tiny_qat_config(tiny_driveact, tmp_path / 'work')
    model = build_qat_model(cfg, frames_checkpoint)
    mean, std = normalisation_of(model.architecture.data_preprocessor)
    frames = random_frames(8)
    inputs = Normalise(mean, std)(frames)
    example = torch.from_numpy(inputs[:1])
    float_path = export_qdq_onnx(model, example, str(tmp_path / 'f.onnx'))
    inits = {t.name: onnx.numpy_helper.to_array(t)
             for t in onnx.load(float_path).graph.initializer}
    quantize = onnx.load(float_path).graph.node[0]
    scale, zero_point = (float(inits[n]) for n in quantize.input[1:3])
    # The normalised values the QAT input quantizer represents.
    low, high = scale * (0 - zero_point), scale * (255 - zero_point)
    return dict(model=model, mean=mean, std=std, frames=frames,
                inputs=inputs, example=example, float_path=float_path,
                low=low, high=high)


@pytest.mark.parametrize('layout', ['NCTHW', 'NTHWC'])
def test_uint8_export_agrees_with_the_float_input_export(
        exports, tmp_path, layout):
    """The default ('qat') grid: the float-input export's class scores from
    the frames, tie-aware and tight, in ONNX Runtime and OpenVINO."""
    path = export_uint8_qdq_onnx(exports['model'], exports['example'],
                                 str(tmp_path / 'u8.onnx'), layout=layout)
    graph = onnx.load(path).graph
    (graph_input, ) = graph.input
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    shape = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert shape == ([1, 1, 3, CLIP_LEN, SIZE, SIZE] if layout == 'NCTHW'
                     else [1, CLIP_LEN, SIZE, SIZE, 3])
    first = [n.op_type for n in graph.node if graph_input.name in n.input]
    assert first == (['Transpose'] if layout == 'NTHWC' else ['Cast'])
    frames_in = frames_to_inputs(exports['frames'], layout)
    for runtime in (OnnxRuntime, OpenVINORuntime):
        reference = runtime(exports['float_path']).run_batched(
            exports['inputs'])
        outputs = runtime(path).run_batched(frames_in)
        parity = check_agreement(f'{runtime.name} uint8', reference,
                                 outputs, 1.0, INT8_ATOL, True,
                                 'the float-input export')
        assert parity.tie_aware_agreement == 1.0
        assert parity.top1_agreement == 1.0
        assert parity.max_abs_diff < 1e-3  # up to float rounding


def with_stem_output(path: str, out: str,
                     unrounded_input: bool = False) -> str:
    """The model with the stem convolution's output as its only output;
    with ``unrounded_input`` its input QuantizeLinear/DequantizeLinear
    removed (the stem sees the normalised frames unrounded)."""
    model = onnx.load(path)
    graph = model.graph
    if unrounded_input:
        quantize = next(n for n in graph.node
                        if graph.input[0].name in n.input)
        dequantize = next(n for n in graph.node
                          if quantize.output[0] in n.input)
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == dequantize.output[0]:
                    node.input[i] = graph.input[0].name
        graph.node.remove(quantize)
        graph.node.remove(dequantize)
    stem = next(n for n in graph.node if n.op_type == 'Conv')
    del graph.output[:]
    graph.output.append(onnx.helper.make_tensor_value_info(
        stem.output[0], onnx.TensorProto.FLOAT, None))
    onnx.save(model, out)
    return out


@pytest.mark.parametrize('layout', ['NCTHW', 'NTHWC'])
def test_frames_grid_is_the_unrounded_stem(exports, tmp_path, layout):
    """The 'frames' grid feeds the stem the exact normalised frames: its
    stem output is the float-input export's without the input rounding,
    exactly inside, and off by at most the folded mean offset times the
    weights that meet the zero padding at the border. (The tiny untrained
    model's class scores move by ~0.8 in log probability for a uniform
    input shift of 0.004, so they cannot show this.)"""
    path = export_uint8_qdq_onnx(exports['model'], exports['example'],
                                 str(tmp_path / 'u8.onnx'), layout=layout,
                                 grid='frames')
    inits = {t.name: onnx.numpy_helper.to_array(t)
             for t in onnx.load(path).graph.initializer}
    assert inits['frames_zero_point'] == 128
    assert inits['frames_scale'] == pytest.approx(1 / 127.5)
    reference = OnnxRuntime(with_stem_output(
        exports['float_path'], str(tmp_path / 'f_stem.onnx'), True))
    folded = OnnxRuntime(with_stem_output(path, str(tmp_path / 'stem.onnx')))
    # Pixels in the QAT input range (the clip is checked below).
    frames = np.clip(exports['frames'], inits['frames_low'],
                     inits['frames_high']) if 'frames_low' in inits else \
        exports['frames']
    inputs = Normalise(exports['mean'], exports['std'])(frames)
    expected = reference.run_batched(inputs)
    got = folded.run_batched(frames_to_inputs(frames, layout))
    inside = (slice(None), slice(None), slice(1, -1), slice(1, -1),
              slice(1, -1))
    np.testing.assert_allclose(got[inside], expected[inside], atol=1e-4)
    graph = onnx.load(path).graph
    stem = next(n for n in graph.node if n.op_type == 'Conv')
    weight_dq = next(n for n in graph.node if stem.input[1] in n.output)
    quantized, scale, zero_point = (inits[i].astype(np.float64)
                                    for i in weight_dq.input)
    weights = (quantized - zero_point.reshape(-1, 1, 1, 1, 1)) * \
        scale.reshape(-1, 1, 1, 1, 1)
    bound = 0.5 / 127.5 * np.abs(weights).sum((1, 2, 3, 4)).max()
    difference = np.abs(got - expected).max()
    assert 0 < difference <= bound + 1e-4  # the border does differ


def test_a_wrong_normalisation_fails_the_parity_check(exports, tmp_path):
    """The check sees a fold with the wrong mean/std (the frames taken as
    values in [0, 255]): it is not a test that always passes."""
    path = export_qdq_onnx(exports['model'], exports['example'],
                           str(tmp_path / 'wrong.onnx'))
    model = onnx.load(path)
    fold_input_normalisation(model, [0.0] * 3, [1.0] * 3, 'NCTHW', 'qat')
    onnx.save(model, path)
    reference = OnnxRuntime(exports['float_path']).run_batched(
        exports['inputs'])
    outputs = OnnxRuntime(path).run_batched(
        frames_to_inputs(exports['frames'], 'NCTHW'))
    with pytest.raises(ParityError, match='parity check FAILED'):
        check_agreement('onnxruntime uint8', reference, outputs, 0.9,
                        INT8_ATOL, True)


def test_the_mean_offset_goes_into_the_stem_bias(exports, tmp_path):
    """mean = 127.5 is not an integer zero point: the frame's grid is off by
    0.5 / 127.5, which the stem convolution's bias takes back."""
    path = export_uint8_qdq_onnx(exports['model'], exports['example'],
                                 str(tmp_path / 'u8.onnx'), grid='frames',
                                 clip=False)
    inits = {t.name: onnx.numpy_helper.to_array(t)
             for t in onnx.load(path).graph.initializer}
    assert inits['frames_zero_point'] == 128
    assert inits['frames_scale'] == pytest.approx(1 / 127.5)
    float_inits = {t.name: onnx.numpy_helper.to_array(t)
                   for t in onnx.load(exports['float_path']).graph.initializer}
    stem = next(n for n in onnx.load(exports['float_path']).graph.node
                if n.op_type == 'Conv')
    folded = next(n for n in onnx.load(path).graph.node
                  if n.op_type == 'Conv')
    shift = inits[folded.input[2]] - float_inits[stem.input[2]]
    assert np.all(shift != 0)
    assert 'frames_low' not in inits  # clip=False


def test_frames_and_inputs_round_trip():
    frames = random_frames(2)
    inputs = Normalise([127.5] * 3, [127.5] * 3)(frames)
    np.testing.assert_array_equal(
        inputs_to_frames(inputs, [127.5] * 3, [127.5] * 3), frames)
    with pytest.raises(ValueError, match='not normalised uint8 frames'):
        inputs_to_frames(inputs + 0.001, [127.5] * 3, [127.5] * 3)
    with pytest.raises(ValueError, match='uint8'):
        frames_to_inputs(frames.astype(np.float32))


def test_channels_normalised_differently_are_refused(exports, tmp_path):
    model = onnx.load(exports['float_path'])
    with pytest.raises(ValueError, match='normalised differently'):
        fold_input_normalisation(model, [123.7, 116.3, 103.5],
                                 [58.4, 57.1, 57.4])
    # One std and per-channel means fold on the 'qat' grid.
    fold_input_normalisation(model, [123.7, 116.3, 103.5], [58.4] * 3)


def test_deploy_with_uint8_input(tiny_qat, tmp_path):
    cfg, checkpoint = tiny_qat
    work_dir = tmp_path / 'deploy'
    result = deploy(
        tiny_deploy_config('video-recognition_3d_openvino_static'), cfg,
        checkpoint, str(work_dir), num_samples=2, uint8_input='NTHWC')
    graph_input = onnx.load(result.onnx).graph.input[0]
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in graph_input.type.tensor_type.shape.dim
            ] == [1, CLIP_LEN, SIZE, SIZE, 3]
    records = json.loads((work_dir / 'parity.json').read_text())
    checked = [r for r in records if r['reference'] == 'PyTorch int8 (x86)']
    assert {r['runtime'] for r in checked} == {'onnxruntime int8',
                                                'openvino int8'}
    assert all(r['tie_aware_agreement'] == 1.0 for r in checked)


def test_uint8_input_needs_a_qat_model(tiny_driveact, tmp_path):
    tiny = tiny_setup(tiny_driveact, tmp_path)
    with pytest.raises(ValueError, match='needs a QAT model config'):
        deploy(str(REPO_ROOT / 'configs' / 'deploy' /
                   'video-recognition_3d_openvino_static.py'), tiny['cfg'],
               str(tiny['checkpoint']), str(tmp_path / 'd'),
               uint8_input='NCTHW')
