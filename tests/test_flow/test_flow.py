"""tools/run_flow.py's pieces: quick settings, stage bookkeeping, report."""
import argparse
import hashlib
import importlib.util
import json

import numpy as np
import pytest

from conftest import REPO_ROOT
from qd_plugin.evaluation import (bootstrap_mean_class_accuracy,
                                  paired_bootstrap_difference)
from qd_plugin.flow.compress_flow import CompressFlow, ModelResult
from qd_plugin.flow.presets import PRESETS, get_preset
from qd_plugin.flow.quick import shrink_config
from qd_plugin.flow.report import (chance_level, load_predictions,
                                   one_clip_steps, paired_comparisons,
                                   results_table,
                                   validation_curve, write_report)
from qd_plugin.utils import load_config


def test_shrink_config_keeps_the_schedule_shape():
    cfg = load_config(str(REPO_ROOT / 'configs' / 'kd_qat_mbv3d.py'))
    shrink_config(cfg, max_epochs=4, clip_len=8, size=32, frame_interval=4)
    assert cfg.train_cfg.max_epochs == 4 and cfg.train_cfg.val_interval == 1
    assert cfg.param_scheduler[0].milestones == [1, 2]  # 50, 100 of 200
    # 150 of 200 -> 3 of 4; never the first epoch, observers must calibrate.
    assert cfg.train_cfg.freeze_bn_begin == 3
    assert cfg.model.input_shapes == (1, 1, 3, 8, 32, 32)
    assert cfg.test_cfg.input_shape == (1, 1, 3, 8, 32, 32)
    sampler = next(step for step in cfg.train_dataloader.dataset.pipeline
                   if step['type'] == 'SampleChunkFrames')
    assert (sampler['clip_len'], sampler['frame_interval']) == (8, 4)
    assert not cfg.train_dataloader.persistent_workers
    one_epoch = load_config(str(REPO_ROOT / 'configs' / 'qat_mbv3d.py'))
    shrink_config(one_epoch, max_epochs=1)
    assert one_epoch.train_cfg.disable_observer_begin == 2
    hooks = [hook['type'] for hook in cfg.custom_hooks]
    assert 'PreciseBNHook' not in hooks  # QAT: observers would move
    float_cfg = load_config(str(REPO_ROOT / 'configs' / 'mbv3d_driveact.py'))
    shrink_config(float_cfg, max_epochs=2)
    assert [h['type'] for h in float_cfg.custom_hooks] == [
        'EpochSeedHook', 'CheckInvalidLossHook', 'PreciseBNHook'
    ]


@pytest.mark.parametrize('stage,precision', [('float', 'fp32'),
                                             ('kd_qat', 'int8')])
def test_a_finished_stage_is_not_run_again(tmp_path, stage, precision):
    flow = CompressFlow(str(REPO_ROOT), str(tmp_path), data_root=str(tmp_path))
    (tmp_path / stage).mkdir()
    (tmp_path / stage / 'trained.json').write_text(
        json.dumps(dict(config=f'{stage}.py', checkpoint='best.pth')))

    def no_tool_runs(*args):
        raise AssertionError(f'ran {args}')

    flow._run_tool = no_tool_runs
    result = flow.train(stage, 'a model', 'mbv3d_driveact.py')
    assert (result.config, result.checkpoint, result.precision) == \
        (f'{stage}.py', 'best.pth', precision)


def test_missing_data_root_is_named(tmp_path):
    flow = CompressFlow(str(REPO_ROOT), str(tmp_path / 'work'),
                        data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='nowhere/activities_3s'):
        flow.prepare_data()


def write_predictions(path, labels, preds, num_classes=4):
    path.parent.mkdir(parents=True, exist_ok=True)
    scores = np.eye(num_classes)[preds]
    path.write_text(json.dumps(dict(labels=list(map(int, labels)),
                                    scores=scores.tolist())))
    return str(path)


def fake_models(work_dir):
    metric = 'acc/mean_class_accuracy'
    models = [
        ModelResult('float', 'Float student', 'fp32', 'c', 'k',
                    dict(val={metric: 0.5}, test={metric: 0.6,
                                                  'acc/top1': 0.7}), 3.6,
                    20.0),
        ModelResult('kd', 'KD student', 'fp32', 'c', 'k',
                    dict(test={metric: 0.65}), 3.6, 20.0),
        ModelResult('kd_qat', 'KD+QAT', 'int8', 'c', 'k',
                    dict(test={metric: 0.62}), 1.0, 2.5),
    ]
    per_class = work_dir / 'kd_qat' / 'eval_test' / '20260101' / 'int8'
    per_class.mkdir(parents=True)
    (per_class / 'per_class_accuracy.json').write_text(json.dumps(
        dict(a=dict(accuracy=0.5, support=2), b=dict(accuracy=1.0,
                                                      support=1))))
    (per_class / 'confusion_matrix.png').write_bytes(b'png')
    return models


def add_test_predictions(models, work_dir):
    """200 test clips of 4 classes: the float student is right on the first
    half of each class, the KD student on 80% (a superset), the KD+QAT int8
    model like the KD student but for 4 clips that its fake-quant model gets
    right."""
    labels = np.repeat(np.arange(4), 50)
    position = np.tile(np.arange(50), 4)
    wrong = (labels + 1) % 4
    float_preds = np.where(position < 25, labels, wrong)
    kd_preds = np.where(position < 40, labels, wrong)
    int8_preds = np.where(np.isin(np.arange(200), [0, 50, 100, 150]), wrong,
                          kd_preds)
    by_name = {m.name: m for m in models}
    for name, variant, preds in (('float', '', float_preds),
                                 ('kd', '', kd_preds),
                                 ('kd_qat', '', int8_preds),
                                 ('kd_qat', 'fakequant', kd_preds)):
        by_name[name].predictions['test', variant] = write_predictions(
            work_dir / 'preds' / f'{name}_{variant}.json', labels, preds)


def test_results_table_values_and_speedup(tmp_path):
    table = results_table(fake_models(tmp_path)).splitlines()
    assert table[2] == ('| Float student | fp32 | 50.0 | 60.0 | 70.0 | 3.60 '
                        '| 20.00 | 1.0x |')
    assert table[4] == '| KD+QAT | int8 | – | 62.0 | – | 1.00 | 2.50 | 8.0x |'


def test_results_table_gives_bootstrap_intervals(tmp_path):
    models = fake_models(tmp_path)
    add_test_predictions(models, tmp_path)
    row = results_table(models).splitlines()[2]
    labels = np.repeat(np.arange(4), 50)
    preds = np.where(np.tile(np.arange(50), 4) < 25, labels, (labels + 1) % 4)
    interval = bootstrap_mean_class_accuracy(labels, preds)
    assert interval.estimate == 0.5
    assert row == (f'| Float student | fp32 | 50.0 | 50.0 '
                   f'[{100 * interval.low:.1f}, {100 * interval.high:.1f}] '
                   '| 70.0 | 3.60 | 20.00 | 1.0x |')


def test_report_has_table_comparisons_and_plots(tmp_path):
    models = fake_models(tmp_path)
    add_test_predictions(models, tmp_path)
    path = write_report(models, str(tmp_path), dict(quick=1),
                        task_seconds={'train:float': 12.0})
    report = open(path).read()
    assert '| KD+QAT | int8 |' in report
    assert ('Chance level: 50.0% mean class accuracy (2 classes in the test '
            'split, 3 clips). Guessing scores 50.0 ± 30.6 (1 sd) on this '
            'split, and one clip moves the mean class accuracy by 25.0-50.0 '
            'points.') in report
    # 2 and 1 clips per class: even 65% is within 2 sd of guessing.
    assert ('Within 2 sd of chance on test (below 111.2%): Float student, '
            'KD student, KD+QAT.') in report
    # KD is right on 30 more clips in every class of 50: +30 points.
    assert '| KD − float | +30.0 [' in report
    assert ('- KD − float: +30.0 points, significant (the 95% interval '
            'excludes 0).') in report
    # int8 loses 1 clip per class to its fake-quant model: -2 points.
    int8 = models[2]
    (labels, int8_preds), (_, fake_preds) = (
        load_predictions(int8.predictions['test', v])
        for v in ('', 'fakequant'))
    verdict = 'significant' if paired_bootstrap_difference(
        labels, int8_preds, fake_preds).excludes(0) else 'not significant'
    assert (f'- KD+QAT int8 − KD+QAT fake-quant: -2.0 points, {verdict}'
            in report)
    # One-hot scores: the 4 flips are confident, not near ties.
    assert ("- KD+QAT: the int8 model predicts the fake-quant model's class "
            'on 98.0% of the 200 test clips; 0 of the 4 others are near ties '
            '(the fake-quant model scores both classes within 0.5 in log '
            'probability and every score moves by at most 0.4), so the '
            'tie-aware agreement is 98.0%. Largest probability change: '
            '1.000.') in report
    assert 'QAT int8 − float' not in report  # no QAT stage in this flow
    assert 'train:float 12 s' in report
    for name in ('accuracy_vs_latency.png', 'per_class_accuracy.png',
                 'confusion_matrix_final.png'):
        assert (tmp_path / name).stat().st_size > 0
        assert name in report


def test_comparisons_refuse_predictions_of_other_clips(tmp_path):
    models = fake_models(tmp_path)
    add_test_predictions(models, tmp_path)
    models[1].predictions['test', ''] = write_predictions(
        tmp_path / 'other.json', np.zeros(200, int), np.zeros(200, int))
    with pytest.raises(ValueError, match='not predictions of the same clips'):
        paired_comparisons(models)


def test_validation_curve_reads_the_val_records(tmp_path):
    log = tmp_path / 'qat' / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    records = [
        dict(lr=0.1, loss=2.0, epoch=1, iter=10, step=10),
        {'qat.acc/mean_class_accuracy': 0.3, 'original.acc/top1': 0.2,
         'step': 1},
        dict(lr=0.1, loss=1.0, epoch=2, iter=20, step=20),
        {'qat.acc/mean_class_accuracy': 0.5, 'step': 2},
    ]
    (log / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in records) + '\n')
    assert validation_curve(str(tmp_path / 'qat')) == [(1, 0.3), (2, 0.5)]
    assert validation_curve(str(tmp_path / 'none')) == []


def test_chance_level_and_one_clip_steps():
    # 8 classes of 4 clips: sd = sqrt(8 * (1/8 * 7/8) / 4) / 8.
    split = {str(c): dict(accuracy=0.0, support=4) for c in range(8)}
    chance, spread = chance_level(split)
    assert chance == 0.125
    assert spread == pytest.approx(0.0584634, abs=1e-6)
    split['0']['support'] = 1
    assert one_clip_steps(split) == (1 / 32, 1 / 8)


def test_report_does_not_flag_models_above_chance(tmp_path):
    models = fake_models(tmp_path)
    per_class = next(tmp_path.glob('kd_qat/eval_test/*/int8'))
    (per_class / 'per_class_accuracy.json').write_text(json.dumps({
        str(c): dict(accuracy=0.6, support=50) for c in range(8)}))
    report = open(write_report(models, str(tmp_path), {})).read()
    assert 'Within 2 sd of chance' not in report


def load_run_flow_tool():
    spec = importlib.util.spec_from_file_location(
        'run_flow', REPO_ROOT / 'tools' / 'run_flow.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_epochs_option_overrides_preset_stages():
    tool = load_run_flow_tool()
    args = argparse.Namespace(quick=True, preset=None,
                              epochs=['float=60', 'kd=40'])
    preset = tool.preset_settings(args)
    assert preset.epochs == dict(PRESETS['quick'].epochs, float=60, kd=40)
    assert preset.epochs['teacher'] == PRESETS['quick'].epochs['teacher']
    args = argparse.Namespace(quick=False, preset='quick', epochs=[])
    assert tool.preset_settings(args) == PRESETS['quick']


@pytest.mark.parametrize('quick,preset,epochs,message', [
    (True, None, ['student=3'], '--epochs student=3: expected STAGE=N'),
    (True, None, ['kd=0'], '--epochs kd=0: expected STAGE=N'),
    (False, None, ['kd=3'], '--epochs needs a preset'),
    (True, 'medium', [], '--quick and --preset medium contradict'),
])
def test_bad_preset_options_are_named(quick, preset, epochs, message):
    tool = load_run_flow_tool()
    with pytest.raises(SystemExit, match=message):
        tool.preset_settings(
            argparse.Namespace(quick=quick, preset=preset, epochs=epochs))


def test_preset_replaces_optimizer_schedule_and_epoch_length():
    cfg = load_config(str(REPO_ROOT / 'configs' / 'kd_mbv3d.py'))
    preset = PRESETS['quick']
    preset.apply(cfg, 'kd')
    schedule = preset.stages['kd']
    assert cfg.optim_wrapper.optimizer == schedule.optimizer
    assert cfg.param_scheduler == [
        dict(type='CosineAnnealingLR', T_max=schedule.epochs, by_epoch=True,
             begin=0, end=schedule.epochs, convert_to_iter_based=True)
    ]
    assert cfg.train_dataloader.sampler == dict(
        type='ClassBalancedSampler', epoch_length=schedule.epoch_length)
    crop = next(step for step in cfg.train_dataloader.dataset.pipeline
                if step['type'] == 'RandomResizedCrop')
    assert crop['area_range'] == preset.crop_area
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.model.architecture.cls_head.num_classes == 34
    with pytest.raises(ValueError, match="unknown preset 'fast'"):
        get_preset('fast')
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['student'\]"):
        get_preset('quick', dict(student=3))


def test_a_finished_stage_with_another_config_is_not_reused(tmp_path):
    flow = CompressFlow(str(REPO_ROOT), str(tmp_path), data_root=str(tmp_path))
    (tmp_path / 'float').mkdir()
    record = dict(config=str(tmp_path / 'float' / 'float.py'),
                  checkpoint='best.pth', config_sha256='0' * 64)
    (tmp_path / 'float' / 'trained.json').write_text(json.dumps(record))
    with pytest.raises(RuntimeError,
                       match='float: finished before with another config'):
        flow.train('float', 'a model', 'mbv3d_driveact.py')
    cfg = flow._build_stage_config('float', 'mbv3d_driveact.py', {})
    record['config_sha256'] = hashlib.sha256(cfg.dump().encode()).hexdigest()
    (tmp_path / 'float' / 'trained.json').write_text(json.dumps(record))
    assert flow.train('float', 'a model', 'mbv3d_driveact.py').checkpoint \
        == 'best.pth'


def test_module_entry_point_runs_the_same_command_line(tmp_path):
    import subprocess
    import sys
    result = subprocess.run(
        [sys.executable, '-m', 'qd_plugin.flow', '--epochs', 'kd=3'],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().endswith(
        "--epochs needs a preset (the full flow trains each config's own "
        'schedule)')
    assert not (tmp_path / 'work_dirs').exists()
