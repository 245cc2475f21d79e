"""tools/demo.py on the command line: timeline, annotated video, summary,
and one clear error for what cannot be loaded or read."""
import csv
import json
import subprocess
import sys

import cv2
import pytest

from conftest import REPO_ROOT
from stream_fixtures import (CLIP_LEN, tiny_model_config,
                             write_textured_video, write_tiny_checkpoint)

DEMO = REPO_ROOT / 'tools' / 'demo.py'


def run_demo(*args):
    return subprocess.run([sys.executable, str(DEMO), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT)


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp('demo')
    cfg = tiny_model_config(dict(ann_root='unused', video_root='unused'),
                            path / 'work')
    config_file = path / 'mbv3d_tiny.py'
    cfg.dump(str(config_file))
    checkpoint = write_tiny_checkpoint(cfg, path / 'tiny.pth')
    video = path / 'drive.mp4'
    write_textured_video(video, 30)
    return dict(config=config_file, checkpoint=checkpoint, video=video)


@pytest.mark.parametrize('ext', ['json', 'csv'])
def test_demo_writes_timeline_video_and_summary(model, tmp_path, ext):
    timeline, video = tmp_path / f'timeline.{ext}', tmp_path / 'out.mp4'
    result = run_demo(model['video'], '--model', model['checkpoint'],
                      '--config', model['config'], '--hop', 3, '--smooth', 2,
                      '--out-timeline', timeline, '--out-video', video)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = (30 - CLIP_LEN) // 3 + 1
    if ext == 'json':
        record = json.loads(timeline.read_text())
        windows = record['windows']
        assert record['summary']['windows'] == expected
        assert record['model']['window']['length'] == CLIP_LEN
    else:
        with open(timeline) as f:
            windows = list(csv.DictReader(f))
        assert windows[0]['topk'].count(':') == 3
    assert [int(w['start_frame']) for w in windows] == list(
        range(0, 3 * expected, 3))
    assert all(int(w['end_frame']) - int(w['start_frame']) == CLIP_LEN
               for w in windows)
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    assert (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))) == (40, 56)
    capture.release()
    assert 'real-time factor: ' in result.stdout
    assert 'per-window latency (ms): p50 ' in result.stdout
    assert f'{expected}/{expected}' in result.stdout  # the progress bar
    assert not list(tmp_path.glob('*.tmp*'))


def test_demo_errors_name_what_is_at_fault(model, tmp_path):
    missing = tmp_path / 'missing_dir'
    result = run_demo(model['video'], '--model', missing)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == \
        f'error: model not found: {missing}'

    args = ['--model', model['checkpoint'], '--config', model['config']]
    result = run_demo(97, *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == \
        'error: cannot open camera 97'

    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00' * 1000)
    result = run_demo(broken, *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        f'error: cannot read video {broken}')

    # A bad output name is refused before anything runs; what is there
    # stays.
    kept = tmp_path / 'kept.txt'
    kept.write_text('mine')
    result = run_demo(model['video'], *args, '--out-timeline', kept)
    assert result.returncode == 1
    assert 'timeline file must end with .json or .csv' in result.stderr
    assert kept.read_text() == 'mine'
