"""load_recognizer on what the plugin produces: its predictions are those of
tools/test.py for the same clips (float exactly, int8 tie-aware), and what
cannot be loaded or read is named in one clear error."""
import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from qd_plugin.apis import (CameraOpenError, ModelConfigError,
                            ModelNotFoundError, VideoNotFoundError,
                            VideoOpenError, load_recognizer)
from qd_plugin.deploy import check_agreement, deploy
from stream_fixtures import (textured_driveact, tiny_deploy_config,
                             tiny_model_config, tiny_qat_config,
                             write_tiny_checkpoint, write_tiny_qat_checkpoint)

CHUNKS = [(0, 12), (9, 30), (25, 40), (30, 34)]


def run_test_tool(config_file, checkpoint, work_dir, dump):
    result = subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'tools' / 'test.py'),
        str(config_file),
        str(checkpoint), '--work-dir',
        str(work_dir), '--dump',
        str(dump)
    ], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(dump, 'rb') as f:
        return np.stack(
            [np.asarray(s['pred_scores']['item']) for s in pickle.load(f)])


def api_scores(recognizer, video):
    return np.stack([
        recognizer.classify_clip(video, chunk).class_scores
        for chunk in CHUNKS
    ])


@pytest.fixture
def data(tmp_path):
    return textured_driveact(tmp_path / 'data', 40, CHUNKS)


def test_float_checkpoint_predicts_as_the_test_tool(data, tmp_path):
    cfg = tiny_model_config(data, tmp_path / 'work')
    cfg.test_dataloader.batch_size = 1
    config_file = tmp_path / 'mbv3d_tiny.py'
    cfg.dump(str(config_file))
    checkpoint = write_tiny_checkpoint(cfg, tmp_path / 'tiny.pth')
    reference = run_test_tool(config_file, checkpoint, tmp_path / 'work',
                              tmp_path / 'preds.pkl')

    recognizer = load_recognizer(str(checkpoint), str(config_file))
    assert recognizer.kind == 'pytorch'
    scores = api_scores(recognizer, data['video'])
    assert scores.shape == reference.shape == (len(CHUNKS), 34)
    np.testing.assert_array_equal(scores, reference)
    # Not a constant model: the clips get different scores.
    assert not np.allclose(scores[0], scores[1])


def test_int8_artifacts_agree_with_the_test_tool(data, tmp_path):
    """tools/test.py's int8 predictions (PyTorch x86) against the API on
    the int8 TorchScript it saves (identical), on the QAT checkpoint, and on
    the OpenVINO int8 export of tools/deploy.py (tie-aware)."""
    cfg = tiny_qat_config(data, tmp_path / 'work')
    cfg.test_dataloader.batch_size = 1
    config_file = tmp_path / 'qat_tiny.py'
    cfg.dump(str(config_file))
    checkpoint = write_tiny_qat_checkpoint(cfg, tmp_path / 'qat.pth')
    work_dir = tmp_path / 'work'
    reference = run_test_tool(config_file, checkpoint, work_dir,
                              tmp_path / 'preds.pkl')

    torchscript = load_recognizer(str(work_dir / 'int8_model.pt'))
    assert torchscript.kind == 'torchscript'
    np.testing.assert_allclose(
        api_scores(torchscript, data['video']), reference, atol=1e-6)

    from_checkpoint = load_recognizer(str(checkpoint), str(config_file))
    assert from_checkpoint.kind == 'pytorch int8'
    check_agreement('api int8', reference,
                    api_scores(from_checkpoint, data['video']), 1.0, 0.4,
                    True)

    export_dir = tmp_path / 'deploy'
    deploy(tiny_deploy_config('video-recognition_3d_openvino_static'), cfg,
           str(checkpoint), str(export_dir), num_samples=2)
    assert (export_dir / 'model_cfg.py').is_file()
    openvino = load_recognizer(str(export_dir))
    assert openvino.kind == 'openvino'
    assert openvino.model_file == str(export_dir / 'end2end.xml')
    parity = check_agreement('openvino int8', reference,
                             api_scores(openvino, data['video']), 1.0, 0.4,
                             True)
    assert parity.tie_aware_agreement == 1.0
    # The same work dir's QDQ graph in ONNX Runtime.
    onnxruntime = load_recognizer(str(export_dir), backend='onnxruntime')
    assert onnxruntime.kind == 'onnxruntime'
    assert onnxruntime.model_file == str(export_dir / 'end2end.onnx')
    check_agreement('onnxruntime int8', reference,
                    api_scores(onnxruntime, data['video']), 1.0, 0.4, True)


def test_missing_model_file_is_named(tmp_path):
    missing = tmp_path / 'nope.xml'
    with pytest.raises(ModelNotFoundError,
                       match=re.escape(f'model not found: {missing}')):
        load_recognizer(str(missing))
    # An IR without its weights.
    (tmp_path / 'end2end.xml').write_text('<net/>')
    with pytest.raises(ModelNotFoundError,
                       match=re.escape(str(tmp_path / 'end2end.bin'))):
        load_recognizer(str(tmp_path / 'end2end.xml'))


def test_missing_file_of_a_work_dir_is_named(tmp_path):
    (tmp_path / 'deploy.json').write_text(json.dumps(
        dict(models=[dict(net='end2end.onnx', backend='onnxruntime')])))
    with pytest.raises(ModelNotFoundError) as error:
        load_recognizer(str(tmp_path))
    assert str(tmp_path / 'end2end.onnx') in str(error.value)
    assert str(tmp_path / 'deploy.json') in str(error.value)
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ModelNotFoundError,
                       match=re.escape(f'{empty} is not an MMDeploy work '
                                       'dir')):
        load_recognizer(str(empty))


def test_checkpoint_without_config_is_refused(tmp_path):
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'not a zip')
    with pytest.raises(ModelConfigError, match='a checkpoint needs its '
                       'config'):
        load_recognizer(str(checkpoint))


@pytest.fixture(scope='module')
def recognizer(tmp_path_factory):
    path = tmp_path_factory.mktemp('float')
    cfg = tiny_model_config(dict(ann_root='unused', video_root='unused'),
                            path / 'work')
    return load_recognizer(
        str(write_tiny_checkpoint(cfg, path / 'tiny.pth')), cfg)


def test_unreadable_video_is_named(recognizer, tmp_path):
    video = tmp_path / 'broken.mp4'
    video.write_bytes(b'\x00' * 4096)
    with pytest.raises(VideoOpenError,
                       match=re.escape(f'cannot read video {video}')):
        recognizer.classify_stream(str(video))
    with pytest.raises(VideoOpenError,
                       match=re.escape(f'cannot read video {video}')):
        recognizer.classify_clip(str(video))
    missing = tmp_path / 'missing.mp4'
    with pytest.raises(VideoNotFoundError,
                       match=re.escape(f'video not found: {missing}')):
        recognizer.classify_stream(str(missing))


def test_camera_that_cannot_be_opened_is_named(recognizer):
    with pytest.raises(CameraOpenError, match='cannot open camera 97'):
        recognizer.classify_stream(97)
