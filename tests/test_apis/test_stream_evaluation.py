"""Scoring per-window labels against chunk annotations, and
tools/eval_stream.py on a recording."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, chunk_row, split_path, write_splits
from qd_plugin.apis import WindowPrediction
from qd_plugin.evaluation import (AnnotatedSegment, StreamEvaluation,
                                  read_annotated_segments)
from stream_fixtures import (FILE_ID, textured_driveact, tiny_model_config,
                             write_tiny_checkpoint)

CLASSES = ['drinking', 'eating', 'idle']


def window(start, end, label_id, score):
    scores = np.full(len(CLASSES), (1 - score) / (len(CLASSES) - 1))
    scores[label_id] = score
    return WindowPrediction([label_id], [CLASSES[label_id]], [score],
                            scores, start_frame=start, end_frame=end)


def test_windows_are_scored_by_where_they_fall():
    segments = [AnnotatedSegment(0, 40, 'drinking', 'a'),
                AnnotatedSegment(60, 100, 'eating', 'b')]
    windows = [
        window(0, 16, 0, 0.9),    # drinking, right
        window(16, 32, 1, 0.9),   # drinking, wrong
        window(24, 40, 0, 0.8),   # drinking, right
        window(32, 48, 0, 0.7),   # 8 of 16 frames unannotated: unannotated
        window(40, 56, 2, 0.3),   # unannotated, unsure
        window(44, 60, 0, 0.95),  # unannotated, sure
        window(54, 70, 1, 0.4),   # straddles (10 annotated frames)
        window(60, 76, 1, 0.6),   # eating, right
    ]
    evaluation = StreamEvaluation(CLASSES, low_confidence=0.5)
    evaluation.add(windows, segments)
    results = evaluation.results()
    assert results['annotated_windows'] == 4
    assert results['unannotated_windows'] == 3
    assert results['straddling_windows'] == 1
    assert results['per_class_accuracy'] == {'drinking': 2 / 3, 'eating': 1}
    assert results['mean_class_accuracy'] == pytest.approx((2 / 3 + 1) / 2)
    assert results['top1_accuracy'] == pytest.approx(3 / 4)
    assert results['unannotated_low_confidence_share'] == pytest.approx(1 /
                                                                        3)
    assert results['annotated_low_confidence_share'] == 0
    assert results['mean_score_unannotated'] == pytest.approx(
        (0.7 + 0.3 + 0.95) / 3)


def test_smoothed_label_is_judged():
    smoothed = window(0, 16, 1, 0.9)
    smoothed.smoothed_label_id, smoothed.smoothed_score = 0, 0.4
    evaluation = StreamEvaluation(CLASSES)
    evaluation.add([smoothed], [AnnotatedSegment(0, 20, 'drinking', 'a')])
    results = evaluation.results()
    assert results['mean_class_accuracy'] == 1.0
    assert results['annotated_low_confidence_share'] == 1.0


def test_chunks_of_an_annotation_are_one_segment(tmp_path):
    other = 'vp2/run1_2018-05-30-10-00-00.ids_1'
    rows = [chunk_row(FILE_ID, 10, 58, 'drinking', 0, 0),
            chunk_row(FILE_ID, 58, 80, 'drinking', 0, 1),
            chunk_row(FILE_ID, 90, 120, 'drinking', 1, 0),
            chunk_row(other, 0, 30, 'eating', 2, 0)]
    write_splits(tmp_path, dict(test=rows))
    recordings = read_annotated_segments(
        split_path(str(tmp_path), 'test'), '/videos')
    assert list(recordings) == [f'/videos/{FILE_ID}.mp4',
                                f'/videos/{other}.mp4']
    assert [(s.start, s.end, s.label)
            for s in recordings[f'/videos/{FILE_ID}.mp4']] == [
                (10, 80, 'drinking'), (90, 120, 'drinking')]


def test_unknown_activity_is_named():
    evaluation = StreamEvaluation(CLASSES)
    with pytest.raises(ValueError, match=re.escape(
            "split.csv, line 3: activity 'smoking' is not a class")):
        evaluation.add([], [AnnotatedSegment(0, 9, 'smoking',
                                             'split.csv, line 3')])


def test_eval_stream_tool(tmp_path):
    chunks = [(0, 20), (20, 40), (52, 80)]
    data = textured_driveact(tmp_path / 'data', 90, chunks)
    cfg = tiny_model_config(data, tmp_path / 'work')
    config_file = tmp_path / 'mbv3d_tiny.py'
    cfg.dump(str(config_file))
    checkpoint = write_tiny_checkpoint(cfg, tmp_path / 'tiny.pth')
    out = tmp_path / 'stream_eval.json'
    result = subprocess.run([
        sys.executable, str(REPO_ROOT / 'tools' / 'eval_stream.py'),
        '--model', str(checkpoint), '--config', str(config_file), '--hop',
        '2', '--out', str(out)], capture_output=True, text=True,
        cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    # 90 frames, windows of 4 every 2 frames: 44 windows. 9 inside 0-20,
    # 9 inside 20-40, 13 inside 52-80; 12 with at least half their frames
    # in 40-52 or 80-90; the one at 18-22 straddles two activities.
    assert results['recordings'] == 1
    assert results['annotated_windows'] == 9 + 9 + 13
    assert results['unannotated_windows'] == 7 + 5
    assert results['straddling_windows'] == 1
    assert 0 <= results['mean_class_accuracy'] <= 1
    assert 'mean class accuracy of annotated windows' in result.stdout
