"""Export with MMDeploy to ONNX and OpenVINO, parity with PyTorch on real
samples, SDK meta files, tools/deploy.py."""
import json
import runpy
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import qd_plugin.deploy.float_export as float_export
from conftest import REPO_ROOT
from qd_plugin.deploy import (OnnxRuntime, OpenVINORuntime, ParityError,
                              convert_to_openvino, deploy, export_onnx)
from qd_plugin.deploy.data import load_samples
from qd_plugin.deploy.float_export import (build_model, build_task,
                                           check_runtimes)
from tiny_deploy import INPUT_SHAPE, tiny_deploy_config, tiny_setup

OV_STATIC = 'video-recognition_3d_openvino_static'
ORT_DYNAMIC = 'video-recognition_3d_onnxruntime_dynamic'


def corrupt_first_conv(path: str) -> None:
    """Add noise to the first convolution's weights in an ONNX file."""
    model = onnx.load(path)
    conv = next(n for n in model.graph.node if n.op_type == 'Conv')
    tensor = next(t for t in model.graph.initializer
                  if t.name == conv.input[1])
    weight = numpy_helper.to_array(tensor)
    noise = np.random.default_rng(0).normal(0, np.abs(weight).max(),
                                            weight.shape)
    tensor.CopyFrom(
        numpy_helper.from_array((weight + noise).astype(weight.dtype),
                                tensor.name))
    onnx.save(model, path)


def test_openvino_export_parity_and_sdk_files(tiny_driveact, tmp_path):
    tiny = tiny_setup(tiny_driveact, tmp_path)
    work_dir = tmp_path / 'openvino'
    result = deploy(tiny_deploy_config(OV_STATIC), tiny['cfg'],
                    str(tiny['checkpoint']), str(work_dir), num_samples=2,
                    threads=1)

    for name in ('end2end.onnx', 'end2end.xml', 'end2end.bin', 'deploy.json',
                 'pipeline.json', 'detail.json', 'parity.json'):
        assert (work_dir / name).is_file(), name
    assert [p.runtime for p in result.parities] == ['onnxruntime', 'openvino']
    for parity in result.parities:
        assert parity.ok and parity.max_abs_diff < 1e-3
        assert parity.num_samples == 2 and parity.top1_agreement == 1.0
    # Static export: the graph's input is the configured shape.
    graph_input = onnx.load(str(work_dir / 'end2end.onnx')).graph.input[0]
    assert [d.dim_value for d in graph_input.type.tensor_type.shape.dim
            ] == INPUT_SHAPE

    sdk = json.loads((work_dir / 'deploy.json').read_text())
    assert sdk['task'] == 'VideoRecognizer'
    assert sdk['models'][0]['net'] == 'end2end.xml'
    assert sdk['models'][0]['weights'] == 'end2end.bin'
    assert sdk['models'][0]['backend'] == 'openvino'
    tasks = json.loads(
        (work_dir / 'pipeline.json').read_text())['pipeline']['tasks']
    lifted = {t['type']: t for t in tasks[0]['transforms'][0]['transforms']}
    assert lifted['Normalize']['mean'] == [127.5] * 3
    assert lifted['CenterCrop']['crop_size'] == INPUT_SHAPE[-1]
    assert tasks[2]['params']['num_classes'] == 34
    detail = json.loads((work_dir / 'detail.json').read_text())
    assert detail['codebase_config']['task'] == 'VideoRecognition'
    assert json.loads((work_dir / 'parity.json').read_text())[1]['ok']

    # Nothing already in the work dir is overwritten silently.
    before = (work_dir / 'end2end.onnx').stat().st_mtime_ns
    with pytest.raises(FileExistsError, match='already holds end2end.onnx'):
        deploy(tiny_deploy_config(OV_STATIC), tiny['cfg'],
               str(tiny['checkpoint']), str(work_dir))
    assert (work_dir / 'end2end.onnx').stat().st_mtime_ns == before


def test_static_config_exports_at_the_test_pipeline_shape(
        tiny_driveact, tmp_path):
    """configs/deploy/*_static.py say 1x1x3x16x224x224; a model tested on
    other clips is exported at its own shape, with a warning (as MMDeploy
    only logs such a mismatch)."""
    tiny = tiny_setup(tiny_driveact, tmp_path)
    work_dir = tmp_path / 'ort_static'
    deploy(
        str(REPO_ROOT / 'configs/deploy/video-recognition_3d_onnxruntime_'
            'static.py'), tiny['cfg'], str(tiny['checkpoint']),
        str(work_dir), num_samples=1)
    graph_input = onnx.load(str(work_dir / 'end2end.onnx')).graph.input[0]
    assert [d.dim_value for d in graph_input.type.tensor_type.shape.dim
            ] == INPUT_SHAPE
    detail = json.loads((work_dir / 'detail.json').read_text())
    assert detail['backend_config']['model_inputs'][0]['opt_shapes'][
        'input'] == INPUT_SHAPE


def test_parity_check_catches_a_corrupted_model(tiny_driveact, tmp_path):
    tiny = tiny_setup(tiny_driveact, tmp_path)
    deploy_cfg = tiny_deploy_config(OV_STATIC)
    model = build_model(build_task(deploy_cfg, tiny['cfg']),
                        str(tiny['checkpoint']))
    inputs, _ = load_samples(tiny['cfg'], 2, model.data_preprocessor)
    onnx_path = export_onnx(deploy_cfg, model, inputs[:1], str(tmp_path))
    check_runtimes(model, [OnnxRuntime(onnx_path)], inputs, 1e-3)  # intact

    corrupt_first_conv(onnx_path)
    xml_path = convert_to_openvino(onnx_path)
    for runtime in (OnnxRuntime(onnx_path), OpenVINORuntime(xml_path)):
        with pytest.raises(ParityError, match='max abs diff') as error:
            check_runtimes(model, [runtime], inputs, 1e-3)
        assert f'{runtime.name} vs PyTorch' in str(error.value)
        assert 'tolerance 0.001' in str(error.value)


def test_deploy_tool_fails_on_a_corrupted_export(tiny_driveact, tmp_path,
                                                 monkeypatch, capsys):
    """tools/deploy.py exits non-zero naming the max diff when the exported
    model does not match PyTorch."""
    tiny_cfg_files = tiny_setup(tiny_driveact, tmp_path)
    original = float_export.export_onnx

    def export_then_corrupt(*args, **kwargs):
        path = original(*args, **kwargs)
        corrupt_first_conv(path)
        return path

    monkeypatch.setattr(float_export, 'export_onnx', export_then_corrupt)
    monkeypatch.setattr(sys, 'argv', [
        'deploy.py',
        str(tiny_cfg_files[OV_STATIC]),
        str(tiny_cfg_files['model']),
        str(tiny_cfg_files['checkpoint']), '--work-dir',
        str(tmp_path / 'bad'), '--num-samples', '2'
    ])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO_ROOT / 'tools' / 'deploy.py'),
                       run_name='__main__')
    assert exit_info.value.code == 1
    stderr = capsys.readouterr().err
    assert 'parity check FAILED' in stderr
    assert 'onnxruntime vs PyTorch' in stderr and 'max abs diff' in stderr


def test_deploy_tool_dynamic_onnxruntime(tiny_driveact, tmp_path):
    tiny_cfg_files = tiny_setup(tiny_driveact, tmp_path)
    work_dir = tmp_path / 'ort_dynamic'
    command = [
        sys.executable,
        str(REPO_ROOT / 'tools' / 'deploy.py'),
        str(tiny_cfg_files[ORT_DYNAMIC]),
        str(tiny_cfg_files['model']),
        str(tiny_cfg_files['checkpoint']), '--work-dir',
        str(work_dir), '--num-samples', '2'
    ]
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'onnxruntime vs PyTorch on 2 real samples' in (result.stdout +
                                                          result.stderr)
    sdk = json.loads((work_dir / 'deploy.json').read_text())
    assert sdk['models'][0]['dynamic_shape'] is True
    # Batch, clips, frames and size are dynamic; 2 samples -> 2 predictions.
    runtime = OnnxRuntime(str(work_dir / 'end2end.onnx'))
    assert runtime.batch_dynamic
    scores = runtime(np.zeros((2, 2, 3, 6, 40, 48), np.float32))
    assert scores.shape == (2, 34)
    np.testing.assert_allclose(scores.sum(1), 1.0, rtol=1e-5)

    again = subprocess.run(command, capture_output=True, text=True,
                           cwd=REPO_ROOT)
    assert again.returncode == 1
    assert 'already holds end2end.onnx' in again.stderr
    assert '--overwrite' in again.stderr
