"""The flow's streaming evaluation of the final int8 export: its task, its
command and its section of the report."""
import json

import numpy as np

from conftest import REPO_ROOT
from qd_plugin.apis import WindowPrediction
from qd_plugin.evaluation import AnnotatedSegment, StreamEvaluation
from qd_plugin.flow.compress_flow import CompressFlow
from qd_plugin.flow.presets import PRESETS
from qd_plugin.flow.report import write_report
from qd_plugin.flow.stream_report import stream_evaluation_lines
from test_flow import add_test_predictions, fake_models


def stream_results(path):
    evaluation = StreamEvaluation(['a', 'b'])
    windows = [
        WindowPrediction([i % 2], ['ab'[i % 2]], [0.8],
                         np.array([0.8, 0.2][::1 - 2 * (i % 2)]),
                         start_frame=4 * i, end_frame=4 * i + 8)
        for i in range(6)
    ]
    evaluation.add(windows, [AnnotatedSegment(0, 12, 'a', 'x')])
    results = evaluation.results()
    results.update(ann_file='test.csv', model='deploy/kd_qat/end2end.xml',
                   runtime='openvino', window_length=8, hop=4, smooth=1,
                   frames=28, real_time_factor=12.5)
    path.write_text(json.dumps(results))
    return results


def test_report_has_the_streaming_section(tmp_path):
    results = stream_results(tmp_path / 'stream.json')
    # windows 0-8 (a, right), 4-12 (b, wrong) inside; 8-16 (half out) to
    # 20-28 in unannotated time.
    assert results['annotated_windows'] == 2
    assert results['unannotated_windows'] == 4
    models = fake_models(tmp_path)
    add_test_predictions(models, tmp_path)
    path = write_report(models, str(tmp_path), dict(quick=1),
                        stream_eval=str(tmp_path / 'stream.json'))
    report = open(path).read()
    assert '## Streaming evaluation' in report
    assert '| 2 | 50.0 | 50.0 | 4 | 0.0 | 0.0 | 0 | 12.5x |' in report
    # Before the wall times, its own section.
    assert report.index('## Streaming evaluation') < report.index(
        '## Wall time')
    assert stream_evaluation_lines(str(tmp_path / 'none.json'), 'x') == []
    without = open(write_report(models, str(tmp_path), dict(quick=1))).read()
    assert '## Streaming evaluation' not in without


def test_flow_runs_eval_stream_on_the_export(tmp_path):
    flow = CompressFlow(str(REPO_ROOT), str(tmp_path), data_root=str(tmp_path),
                        preset=PRESETS['quick'])
    commands = []
    flow._run_tool = lambda stage, step, command, threads: commands.append(
        (stage, command, threads))
    assert flow.stream_eval(None) is None
    assert flow.stream_eval('FAILED: parity') is None
    assert commands == []
    deploy_dir = tmp_path / 'deploy' / 'kd_qat'
    deploy_dir.mkdir(parents=True)
    path = flow.stream_eval(str(deploy_dir), threads=1)
    assert path == str(tmp_path / 'stream_eval' / 'kd_qat.json')
    assert commands == [('stream_eval', [
        'tools/eval_stream.py', '--model', str(deploy_dir), '--threads', '1',
        '--out', path, '--max-recordings', '2'
    ], 1)]
    # Done once: a flow run again does not redo it.
    (tmp_path / 'stream_eval').mkdir()
    open(path, 'w').close()
    flow.stream_eval(str(deploy_dir))
    assert len(commands) == 1
    full = CompressFlow(str(REPO_ROOT), str(tmp_path / 'full'),
                        data_root=str(tmp_path))
    full._run_tool = flow._run_tool
    full.stream_eval(str(deploy_dir), threads=2)
    assert '--max-recordings' not in commands[-1][1]
