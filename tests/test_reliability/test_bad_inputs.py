"""Bad checkpoints and videos: one clear error, before any training step,
naming the file, with nothing in the work dir overwritten. (The annotation
and build-time video errors are in tests/test_datasets.)"""
import copy
import re
import subprocess
import sys

import mmrazor.models  # noqa: F401  (registers MMRazor's algorithms)
import pytest
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS
from reliability_utils import (INPUT_SHAPE, KD_QAT_CONFIG, WIDTH, run_tool,
                               save_tiny_checkpoints, snapshot, tool_env)
from torch.utils.data import DataLoader

from conftest import REPO_ROOT, shrink_pipeline, tiny_config
from qd_plugin.datasets import DriveActDataset
from qd_plugin.datasets.driveact_dataset import SampleLoadError
from qd_plugin.models.algorithms.quant_distill import (
    QuantDistill, StrictMMArchitectureQuant)
from qd_plugin.utils.checkpoint import (CheckpointMismatchError,
                                        check_training_checkpoints,
                                        load_checkpoint_strict)

QAT_CONFIG = 'configs/qat_mbv3d.py'
# The first key of each model: the 3D MobileNet student and the I3D teacher.
STUDENT_KEY = 'backbone.stem.conv.weight'
TEACHER_KEY = 'backbone.conv3d_1a_7x7.conv3d.weight'
# Their state dicts: 164 and 344 keys, of which 27 and 57 BN
# `num_batches_tracked` (which a checkpoint may lack), and 2 alike
# (`cls_head.fc_cls.*`, of other shapes).
STUDENT_ONLY, STUDENT_ONLY_NO_BN_COUNT = 162, 135
TEACHER_ONLY, TEACHER_ONLY_NO_BN_COUNT = 342, 285
# What the messages say each holds.
STUDENT_HOLDS = ('a 3D MobileNet recognizer state dict (164 tensors, a '
                 '34-class head)')
TEACHER_HOLDS = ('an Inception I3D recognizer state dict (344 tensors, a '
                 '34-class head)')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """``(teacher, float student)`` checkpoints of the KD+QAT config."""
    return save_tiny_checkpoints(tmp_path_factory.mktemp('checkpoints'))


def quant_model_cfg(config: str, **checkpoints) -> Config:
    """The quantized model of ``config``, 0.25x, with these checkpoints."""
    model = copy.deepcopy(Config.fromfile(str(REPO_ROOT / config)).model)
    model.architecture.backbone.width_mult = WIDTH
    model.architecture.cls_head.in_channels = int(1024 * WIDTH)
    model.input_shapes = INPUT_SHAPE
    model.update(checkpoints)
    return model


def populated_work_dir(path):
    """A work dir holding the files of an earlier run."""
    path.mkdir()
    (path / 'sentinel.txt').write_text('from an earlier run\n')
    torch.save(dict(meta=dict(epoch=1, iter=2),
                    state_dict=dict(weight=torch.zeros(1))),
               path / 'epoch_1.pth')
    (path / 'last_checkpoint').write_text(str(path / 'epoch_1.pth'))
    return path


# --- tools/test.py ---------------------------------------------------------
def test_test_tool_refuses_a_checkpoint_of_another_model(
        tiny_driveact, checkpoints, tmp_path):
    """MMEngine's load_from only warns: the test would run random weights."""
    teacher, _ = checkpoints
    work_dir = populated_work_dir(tmp_path / 'work')
    (work_dir / 'test_metrics.json').write_text('{"acc/top1": 0.5}')
    before = snapshot(work_dir)
    config = tmp_path / 'mbv3d_tiny.py'
    tiny_config('configs/mbv3d_driveact.py', tiny_driveact,
                str(work_dir)).dump(str(config))

    result = run_tool(REPO_ROOT / 'tools' / 'test.py', config, teacher,
                      '--work-dir', work_dir)
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()
    header = next(i for i, line in enumerate(error)
                  if line.startswith('qd_plugin.utils.checkpoint.'
                                     'CheckpointMismatchError'))
    assert error[header] == (
        'qd_plugin.utils.checkpoint.CheckpointMismatchError: checkpoint '
        f'{teacher} does not match the Recognizer3D it is loaded into: it '
        f'holds {TEACHER_HOLDS}, the model is {STUDENT_HOLDS}:')
    assert error[header + 1].startswith(
        f'  missing keys ({STUDENT_ONLY_NO_BN_COUNT}): {STUDENT_KEY}, ')
    assert error[header + 1].endswith(', ... (115 more)')
    assert error[header + 2].startswith(
        f'  unexpected keys ({TEACHER_ONLY}): {TEACHER_KEY}, ')
    assert 'Epoch(test)' not in result.stderr + result.stdout
    # test_metrics.json not replaced; the Runner added its log dir and
    # config dump.
    after = snapshot(work_dir)
    assert {name: after[name] for name in before} == before
    (log_dir, ) = [path.name for path in work_dir.iterdir() if path.is_dir()]
    assert {name.split('/')[0]
            for name in set(after) - set(before)} == {log_dir, config.name}


def test_strict_loading_reports_shapes_and_accepts_a_fitting_checkpoint(
        checkpoints, tmp_path):
    from mmaction.registry import MODELS as MMACTION_MODELS
    _, student = checkpoints
    cfg = quant_model_cfg(KD_QAT_CONFIG).architecture
    cfg.pop('_scope_')
    model = MMACTION_MODELS.build(cfg)
    loaded = load_checkpoint_strict(model, student, 'float checkpoint')
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded['state_dict'][key]), key

    cfg.backbone.width_mult, cfg.cls_head.in_channels = 0.5, 512
    wider = MMACTION_MODELS.build(cfg)
    with pytest.raises(CheckpointMismatchError) as error:
        load_checkpoint_strict(wider, student, 'float checkpoint')
    lines = str(error.value).splitlines()
    assert lines[0] == (
        f'float checkpoint {student} does not match the TraceableRecognizer3D'
        f' it is loaded into: it holds {STUDENT_HOLDS}, the model is '
        f'{STUDENT_HOLDS}:')
    assert lines[1].startswith(
        '  other shapes (82, another width_mult or class count?): '
        'backbone.stem.conv.weight [8, 3, 3, 3, 3] in the checkpoint, '
        '[16, 3, 3, 3, 3] in the model; ')
    with pytest.raises(FileNotFoundError,
                       match=re.escape(f'teacher checkpoint not found: '
                                       f'{tmp_path / "nope.pth"}')):
        load_checkpoint_strict(wider, str(tmp_path / 'nope.pth'),
                               'teacher checkpoint')


# --- QuantDistill and the QAT configs --------------------------------------
def test_quant_distill_refuses_a_teacher_of_another_model(checkpoints):
    _, student = checkpoints
    model = quant_model_cfg(
        KD_QAT_CONFIG, teacher_ckpt=student, float_checkpoint=student)
    with pytest.raises(CheckpointMismatchError) as error:
        MODELS.build(model)
    lines = str(error.value).splitlines()
    assert lines[0] == (f'teacher checkpoint {student} does not match the '
                        f'Recognizer3D it is loaded into: it holds '
                        f'{STUDENT_HOLDS}, the model is {TEACHER_HOLDS}:')
    assert lines[1].startswith(
        f'  missing keys ({TEACHER_ONLY_NO_BN_COUNT}): {TEACHER_KEY}, ')
    assert lines[2].startswith(
        f'  unexpected keys ({STUDENT_ONLY}): {STUDENT_KEY}, ')


@pytest.mark.parametrize('config', [KD_QAT_CONFIG, QAT_CONFIG])
def test_qat_configs_refuse_a_float_checkpoint_of_another_model(
        config, checkpoints):
    teacher, _ = checkpoints
    model = quant_model_cfg(config, float_checkpoint=teacher)
    if config == KD_QAT_CONFIG:
        model.teacher_ckpt = teacher
    assert model.type == ('QuantDistill' if config == KD_QAT_CONFIG else
                          'StrictMMArchitectureQuant')
    assert issubclass(QuantDistill, StrictMMArchitectureQuant)
    with pytest.raises(CheckpointMismatchError) as error:
        MODELS.build(model)
    lines = str(error.value).splitlines()
    assert lines[0] == (f'float checkpoint {teacher} does not match the '
                        f'TraceableRecognizer3D it is loaded into: it holds '
                        f'{TEACHER_HOLDS}, the model is {STUDENT_HOLDS}:')
    assert lines[1].startswith(
        f'  missing keys ({STUDENT_ONLY_NO_BN_COUNT}): {STUDENT_KEY}, ')
    assert lines[2].startswith(
        f'  unexpected keys ({TEACHER_ONLY}): {TEACHER_KEY}, ')


def test_qat_config_names_a_missing_float_checkpoint(tmp_path):
    missing = str(tmp_path / 'float.pth')
    with pytest.raises(
            FileNotFoundError,
            match=f'^float checkpoint not found: {re.escape(missing)}$'):
        MODELS.build(quant_model_cfg(QAT_CONFIG, float_checkpoint=missing))


def test_float_checkpoint_loads_into_the_qat_student(checkpoints):
    _, student = checkpoints
    model = MODELS.build(quant_model_cfg(QAT_CONFIG,
                                         float_checkpoint=student))
    expected = torch.load(student, weights_only=True)['state_dict']
    for key, value in model.architecture.state_dict().items():
        assert torch.equal(value, expected[key]), key


# --- tools/train.py: missing checkpoints, QAT without a float checkpoint ---
MISSING = '/nonexistent/dir/model.pth'
TRAIN_CASES = {
    'kd teacher': ('configs/kd_mbv3d.py', dict(teacher_ckpt=MISSING)),
    'qat float': (QAT_CONFIG, dict(float_checkpoint=MISSING)),
    'kd_qat teacher': (KD_QAT_CONFIG, dict(teacher_ckpt=MISSING)),
    'kd_qat float': (KD_QAT_CONFIG, dict(float_checkpoint=MISSING)),
    'qat without float': (QAT_CONFIG, dict(float_checkpoint=None)),
}
NOT_FOUND = ('FileNotFoundError: {what} checkpoint not found: '
             f'{MISSING} (model.{{key}}; set it with --cfg-options '
             '{key}=PATH)')
EXPECTED_ERRORS = {
    'kd teacher': NOT_FOUND.format(what='teacher', key='teacher_ckpt'),
    'qat float': NOT_FOUND.format(what='float', key='float_checkpoint'),
    'kd_qat teacher': NOT_FOUND.format(what='teacher', key='teacher_ckpt'),
    'kd_qat float': NOT_FOUND.format(what='float', key='float_checkpoint'),
    'qat without float': (
        'ValueError: StrictMMArchitectureQuant trains a quantized model from '
        'a float one, but float_checkpoint is None: quantization-aware '
        'training must start from the trained float student; pass '
        '--cfg-options float_checkpoint=PATH (or --resume / load_from a '
        'checkpoint of this quantized model)'),
}


@pytest.fixture(scope='module')
def refused_trainings(tmp_path_factory, checkpoints):
    """Run every case of TRAIN_CASES at once (they only import and fail)."""
    teacher, student = checkpoints
    root = tmp_path_factory.mktemp('refused')
    runs = {}
    for i, (case, (config, variables)) in enumerate(TRAIN_CASES.items()):
        # The other checkpoint of the config exists.
        options = dict(teacher_ckpt=teacher, float_checkpoint=student)
        if 'kd_mbv3d' in config:
            options.pop('float_checkpoint')
        if config == QAT_CONFIG:
            options.pop('teacher_ckpt')
        options.update(variables)
        work_dir = populated_work_dir(root / f'work{i}')
        args = [
            sys.executable,
            str(REPO_ROOT / 'tools' / 'train.py'), config, '--work-dir',
            str(work_dir), '--cfg-options',
            *(f'{key}={value}' for key, value in options.items())
        ]
        runs[case] = (work_dir, snapshot(work_dir),
                      subprocess.Popen(
                          args,
                          cwd=REPO_ROOT,
                          env=tool_env(),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          text=True))
    results = {}
    for case, (work_dir, before, process) in runs.items():
        stdout, stderr = process.communicate(timeout=300)
        results[case] = (process.returncode, stderr, work_dir, before)
    return results


@pytest.mark.parametrize('case', list(TRAIN_CASES))
def test_train_tool_refuses_before_touching_the_work_dir(
        case, refused_trainings):
    returncode, stderr, work_dir, before = refused_trainings[case]
    assert returncode == 1
    assert stderr.strip().splitlines()[-1] == EXPECTED_ERRORS[case]
    assert 'Epoch(train)' not in stderr
    # Not even a log dir: the checks run before the Runner is built.
    assert snapshot(work_dir) == before
    assert sorted(p.name for p in work_dir.iterdir()) == [
        'epoch_1.pth', 'last_checkpoint', 'sentinel.txt'
    ]


def test_qat_without_float_checkpoint_is_fine_when_resuming(tmp_path):
    cfg = Config(
        dict(model=dict(float_checkpoint=None), work_dir=str(tmp_path)))
    with pytest.raises(ValueError, match='float_checkpoint is None'):
        check_training_checkpoints(cfg)
    cfg.resume = True  # but nothing to resume from in the work dir
    with pytest.raises(ValueError, match='float_checkpoint is None'):
        check_training_checkpoints(cfg)
    assert not cfg.resume
    populated_work_dir(tmp_path / 'run')
    cfg.work_dir, cfg.resume = str(tmp_path / 'run'), True
    check_training_checkpoints(cfg)  # resumes the QAT checkpoint
    assert cfg.load_from == str(tmp_path / 'run' / 'epoch_1.pth')
    cfg.resume, cfg.load_from = False, str(tmp_path / 'run' / 'epoch_1.pth')
    check_training_checkpoints(cfg)  # starts from a QAT checkpoint


# --- a video that breaks during an epoch -----------------------------------
def video_dataset(data, **kwargs):
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'mbv3d_driveact.py'))
    return DriveActDataset(
        ann_root=data['ann_root'],
        data_prefix=dict(video=data['video_root']),
        pipeline=shrink_pipeline(cfg.train_dataloader.dataset.pipeline),
        **kwargs)


def test_video_corrupted_after_the_build_check_is_named(tiny_driveact):
    dataset = video_dataset(tiny_driveact)  # the build-time check passes
    assert dataset[2]['inputs'].shape == (1, 3, 4, 64, 64)
    video = dataset.get_data_info(2)['filename']
    with open(video, 'r+b') as f:
        f.truncate(300)
    with pytest.raises(SampleLoadError) as error:
        dataset[2]
    split = f"{tiny_driveact['ann_root']}/inner_mirror/" \
        'midlevel.chunks_90.split_0.train.csv'
    assert str(error.value).startswith(
        f'cannot load sample 2: {video} frames [40, 60) ({split}, line 4): '
        'RuntimeError: Error reading 300 bytes')
    assert isinstance(error.value.__cause__, RuntimeError)


def test_unchecked_corrupt_video_is_named_from_a_worker(tiny_driveact):
    video = f"{tiny_driveact['video_root']}/" \
        'vp1/run1_2018-05-29-14-02-47.ids_1.mp4'
    with open(video, 'wb') as f:
        f.write(b'not a video' * 100)
    dataset = video_dataset(tiny_driveact, check_videos=False)
    loader = DataLoader(dataset, batch_size=1, num_workers=1,
                        collate_fn=lambda batch: batch)
    batches = iter(loader)
    with pytest.raises(SampleLoadError,
                       match=re.escape(f'cannot load sample 0: {video} '
                                       'frames [0, 20)')):
        next(batches)
    batches._shutdown_workers()
