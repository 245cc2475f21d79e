"""Checkpoints that are not checkpoints, belong to another model, or lie in
moved, copied or damaged work dirs: one clear error naming the file, or the
right checkpoint with a warning saying which."""
import copy
import os
import re
import shutil
import subprocess
import sys

import mmrazor.models  # noqa: F401  (registers MMRazor's algorithms)
import pytest
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS
from reliability_utils import (make_textured_driveact, run_tool,
                               save_tiny_checkpoints, snapshot, tool_env)

from conftest import REPO_ROOT, tiny_config

TRAIN = REPO_ROOT / 'tools' / 'train.py'
TEST = REPO_ROOT / 'tools' / 'test.py'
MBV3D = 'configs/mbv3d_driveact.py'
# What the messages say the tiny checkpoints hold.
TEACHER_HOLDS = ('an Inception I3D recognizer state dict (344 tensors, a '
                 '34-class head)')
STUDENT_HOLDS = ('a 3D MobileNet recognizer state dict (164 tensors, a '
                 '34-class head)')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """``(teacher, 0.25x float student)`` checkpoints, and broken files."""
    root = tmp_path_factory.mktemp('checkpoints')
    teacher, student = save_tiny_checkpoints(root)
    data = open(student, 'rb').read()
    (root / 'truncated.pth').write_bytes(data[:len(data) // 2])
    (root / 'random.pth').write_bytes(bytes(range(256)) * 16)
    (root / 'empty.pth').write_bytes(b'')
    torch.save(torch.nn.Linear(2, 2), root / 'module.pth')
    (root / 'text.pth').write_text('this is a README, not weights\n')
    return dict(teacher=teacher, student=student, root=root)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_textured_driveact(tmp_path_factory.mktemp('data'))


def student_config(data, work_dir, path, **train_cfg):
    """configs/mbv3d_driveact.py at width 0.25 (the tiny student's), dumped
    to ``path``."""
    cfg = tiny_config(MBV3D, data, str(work_dir))
    cfg.model.backbone.width_mult = 0.25
    cfg.model.cls_head.in_channels = 256
    cfg.default_hooks.checkpoint.interval = 1
    cfg.train_cfg.update(val_interval=1, **train_cfg)
    cfg.dump(str(path))
    return path


def error_text(result) -> str:
    """The exception's message at the end of a tool's traceback."""
    lines = result.stderr.strip().splitlines()
    start = max(i for i, line in enumerate(lines)
                if re.match(r'^[\w.]+(Error|Exception): ', line))
    return '\n'.join(lines[start:])


# --- files that are not checkpoints ----------------------------------------
BROKEN = {
    'truncated': 'is truncated or corrupted ({size} bytes): an interrupted '
    'save or copy? Use an earlier checkpoint or copy it again',
    'random': 'is not a PyTorch checkpoint (4096 bytes starting with '
    "b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e"
    "\\x0f')",
    'empty': 'is empty (0 bytes): an interrupted save or copy? Use an '
    'earlier checkpoint',
    'text': "is not a PyTorch checkpoint ({size} bytes starting with b'this "
    "is a README')",
    'module': 'holds pickled Python objects (torch.nn.modules.linear.Linear), '
    'not only tensors: checkpoints are loaded with weights_only=True, which '
    'refuses them because unpickling can run arbitrary code. Where the file '
    'was written, save the state dict instead: torch.save('
    'model.state_dict(), PATH)',
}


@pytest.fixture(scope='module')
def broken_runs(checkpoints, data, tmp_path_factory):
    """tools/test.py and tools/train.py (load_from, teacher) on each broken
    file, all at once (they fail before any work)."""
    root = tmp_path_factory.mktemp('broken')
    config = student_config(data, root / 'work', root / 'mbv3d_tiny.py')
    runs = {}
    for name in BROKEN:
        path = checkpoints['root'] / f'{name}.pth'
        commands = {
            'test': [TEST, config, path, '--work-dir', root / f'test_{name}'],
            'load_from': [TRAIN, config, '--work-dir', root / f'lf_{name}',
                          '--cfg-options', f'load_from={path}'],
            'teacher': [TRAIN, 'configs/kd_mbv3d.py', '--work-dir',
                        root / f'kd_{name}', '--cfg-options',
                        f'teacher_ckpt={path}'],
        }
        for tool, command in commands.items():
            runs[name, tool] = subprocess.Popen(
                [sys.executable, *map(str, command)], cwd=REPO_ROOT,
                env=tool_env(), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    results = {}
    for key, process in runs.items():
        stdout, stderr = process.communicate(timeout=600)
        results[key] = subprocess.CompletedProcess(process.args,
                                                   process.returncode,
                                                   stdout, stderr)
    return root, results


@pytest.mark.parametrize('tool,description', [
    ('test', 'checkpoint'), ('load_from', 'load_from checkpoint'),
    ('teacher', 'teacher checkpoint (model.teacher_ckpt)')
])
@pytest.mark.parametrize('name', list(BROKEN))
def test_broken_checkpoint_file_is_named_before_any_work(
        name, tool, description, broken_runs, checkpoints):
    root, results = broken_runs
    result = results[name, tool]
    path = checkpoints['root'] / f'{name}.pth'
    assert result.returncode == 1
    assert error_text(result) == (
        f'qd_plugin.utils.checkpoint.CheckpointError: {description} {path} ' +
        BROKEN[name].format(size=os.path.getsize(path)))
    assert 'weights_only=False' not in result.stderr
    assert 'weights_only` set to `False' not in result.stderr
    # Refused before the Runner: no work dir at all.
    prefix = {'test': 'test', 'load_from': 'lf', 'teacher': 'kd'}[tool]
    assert not (root / f'{prefix}_{name}').exists()


# --- checkpoints of another model ------------------------------------------
def test_train_refuses_load_from_of_another_model(checkpoints, data,
                                                  tmp_path):
    """MMEngine's load_from only warns, and trains random weights."""
    teacher = checkpoints['teacher']
    config = student_config(data, tmp_path / 'work', tmp_path / 'tiny.py')
    result = run_tool(TRAIN, config, '--work-dir', tmp_path / 'work',
                      '--cfg-options', f'load_from={teacher}')
    assert result.returncode == 1
    lines = error_text(result).splitlines()
    assert lines[0] == (
        'qd_plugin.utils.checkpoint.CheckpointMismatchError: load_from '
        f'checkpoint {teacher} does not match the Recognizer3D it is loaded '
        f'into: it holds {TEACHER_HOLDS}, the model is {STUDENT_HOLDS}:')
    assert lines[1].startswith('  missing keys (135): backbone.stem.conv.')
    assert lines[2].startswith('  unexpected keys (342): backbone.conv3d_1a')
    assert 'Epoch(train)' not in result.stdout + result.stderr
    assert not list((tmp_path / 'work').rglob('*.pth'))


def test_load_from_may_lack_the_classifier(checkpoints, data, tmp_path):
    """Kinetics weights converted with --drop-classifier start a run; a
    checkpoint of other shapes does not."""
    from mmengine.registry import RUNNERS
    state_dict = torch.load(checkpoints['student'],
                            weights_only=True)['state_dict']
    backbone = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={k: v for k, v in state_dict.items()
                                if not k.startswith('cls_head.')}), backbone)
    cfg = Config.fromfile(str(student_config(data, tmp_path / 'work',
                                             tmp_path / 'tiny.py')))
    cfg.load_from = str(backbone)
    cfg.optim_wrapper.optimizer.lr = 0.0  # the loaded weights stay
    runner = RUNNERS.build(cfg)
    runner.train()
    trained = dict(runner.model.named_parameters())
    for key, value in state_dict.items():
        if key in trained and not key.startswith('cls_head.'):
            assert torch.equal(trained[key], value), key

    wide = copy.deepcopy(cfg)
    wide.model.backbone.width_mult = 0.5
    wide.model.cls_head.in_channels = 512
    wide.work_dir = str(tmp_path / 'wide')
    with pytest.raises(RuntimeError) as error:
        RUNNERS.build(wide).train()
    assert 'other shapes (81, another width_mult or class count?): ' \
        'backbone.stem.conv.weight [8, 3, 3, 3, 3] in the checkpoint, ' \
        '[16, 3, 3, 3, 3] in the model' in str(error.value)


def test_kd_refuses_a_teacher_of_another_model(checkpoints):
    """configs/kd_mbv3d.py: MMRazor loads the teacher non-strictly."""
    student = checkpoints['student']
    model = copy.deepcopy(
        Config.fromfile(str(REPO_ROOT / 'configs' / 'kd_mbv3d.py')).model)
    model.teacher_ckpt = student
    with pytest.raises(RuntimeError) as error:
        MODELS.build(model)
    assert str(error.value).splitlines()[0] == (
        f'teacher checkpoint {student} does not match the Recognizer3D it is '
        f'loaded into: it holds {STUDENT_HOLDS}, the model is '
        f'{TEACHER_HOLDS}:')


def test_deploy_refuses_a_checkpoint_of_another_model(checkpoints, data,
                                                      tmp_path):
    """MMDeploy loads non-strictly: the export would hold random weights."""
    from qd_plugin.deploy.float_export import build_model, build_task
    teacher = checkpoints['teacher']
    model_cfg = Config.fromfile(str(student_config(data, tmp_path / 'work',
                                                   tmp_path / 'tiny.py')))
    deploy_cfg = Config.fromfile(
        str(REPO_ROOT / 'configs' / 'deploy' /
            'video-recognition_3d_onnxruntime_static.py'))
    task = build_task(deploy_cfg, model_cfg)
    with pytest.raises(RuntimeError) as error:
        build_model(task, teacher)
    assert str(error.value).splitlines()[0] == (
        f'checkpoint {teacher} does not match the Recognizer3D it is loaded '
        f'into: it holds {TEACHER_HOLDS}, the model is {STUDENT_HOLDS}:')
    model = build_model(task, checkpoints['student'])
    expected = torch.load(checkpoints['student'],
                          weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_resume_from_a_bare_state_dict_is_refused(checkpoints, data,
                                                  tmp_path):
    """Was `KeyError: 'epoch'` after the Runner was built."""
    student = checkpoints['student']
    config = student_config(data, tmp_path / 'work', tmp_path / 'tiny.py')
    result = run_tool(TRAIN, config, '--work-dir', tmp_path / 'work',
                      '--resume', student)
    assert result.returncode == 1
    assert error_text(result) == (
        f'qd_plugin.utils.checkpoint.CheckpointError: cannot resume from '
        f'{student}: it holds {STUDENT_HOLDS} without the training state a '
        'checkpoint of tools/train.py has (meta epoch and iter, optimizer, '
        'message hub). To start from these weights, pass --cfg-options '
        f'load_from={student} instead of --resume')
    assert not (tmp_path / 'work').exists()


def test_converter_names_a_checkpoint_of_another_layout(checkpoints,
                                                        tmp_path):
    teacher = checkpoints['teacher']
    result = run_tool(REPO_ROOT / 'tools' / 'convert_ckpt.py',
                      'efficient3dcnn', teacher, tmp_path / 'out.pth')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f'{teacher} is not in the efficient3dcnn layout: it holds '
        f'{TEACHER_HOLDS} ("unexpected key in Efficient-3DCNNs checkpoint: '
        '\'backbone.conv3d_1a_7x7.conv3d.weight\'")')
    assert not (tmp_path / 'out.pth').exists()


# --- work dirs: nothing to resume, copied, damaged -------------------------
@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    """One epoch trained with --resume in an empty work dir."""
    root = tmp_path_factory.mktemp('trained')
    work_dir = root / 'work'
    work_dir.mkdir()
    config = student_config(data, work_dir, root / 'tiny.py', max_epochs=1)
    result = run_tool(TRAIN, config, '--work-dir', work_dir, '--resume')
    assert result.returncode == 0, result.stderr[-3000:]
    return root, config, work_dir, result


def test_resume_in_an_empty_work_dir_says_so(trained):
    _, _, work_dir, result = trained
    output = result.stdout + result.stderr
    assert (f'--resume: nothing to resume in {work_dir} (no last_checkpoint '
            'and no epoch_N.pth / iter_N.pth): training starts from scratch'
            ) in output
    assert 'latest checkpoint None' not in output
    # Written to temporary files, renamed once complete.
    assert sorted(p.name for p in work_dir.glob('*.pth')) == [
        'best_acc_mean_class_accuracy_epoch_1.pth', 'epoch_1.pth'
    ]
    assert not list(work_dir.glob('.*tmp'))


@pytest.fixture(scope='module')
def resumed_copies(trained):
    """The trained work dir copied twice and resumed for a second epoch: as
    it is, and with a zero-byte epoch_2.pth that last_checkpoint names."""
    root, config, work_dir, _ = trained
    original = snapshot(work_dir)
    copied = root / 'copied'
    shutil.copytree(work_dir, copied)
    damaged = root / 'damaged'
    shutil.copytree(work_dir, damaged)
    (damaged / 'epoch_2.pth').write_bytes(b'')
    (damaged / 'last_checkpoint').write_text(str(damaged / 'epoch_2.pth'))
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(TRAIN), str(config), '--work-dir',
             str(root / name), '--resume', '--cfg-options',
             'train_cfg.max_epochs=2'], cwd=REPO_ROOT, env=tool_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ('copied', 'damaged')
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        results[name] = stdout + stderr
    return root, work_dir, original, results


def test_copied_work_dir_resumes_from_its_own_checkpoint(resumed_copies):
    root, work_dir, original, results = resumed_copies
    output, copied = results['copied'], root / 'copied'
    assert (f'{copied}/last_checkpoint names {work_dir}/epoch_1.pth, outside '
            'this work dir (was it moved or copied?): using the copy in this '
            f'work dir, {copied}/epoch_1.pth') in output
    assert f'Load checkpoint from {copied}/epoch_1.pth' in output
    assert f'Load checkpoint from {work_dir}' not in output
    # The original is untouched (MMEngine would delete its best checkpoint
    # when the copy found a better one).
    assert snapshot(work_dir) == original
    assert torch.load(copied / 'epoch_2.pth',
                      weights_only=True)['meta']['epoch'] == 2


def test_unreadable_latest_checkpoint_falls_back_to_the_newest_readable(
        resumed_copies):
    root, _, _, results = resumed_copies
    damaged = root / 'damaged'
    assert (f'checkpoint {damaged}/epoch_2.pth is empty (0 bytes): an '
            'interrupted save or copy? Use an earlier checkpoint. Resuming '
            f'from {damaged}/epoch_1.pth, the newest readable checkpoint '
            'instead') in results['damaged']
    assert 'resumed epoch: 1, iter: 2' in results['damaged']
    assert torch.load(damaged / 'epoch_2.pth',
                      weights_only=True)['meta']['epoch'] == 2


def test_relative_and_empty_last_checkpoint(tmp_path):
    from qd_plugin.utils.checkpoint import (CheckpointError,
                                            find_resume_checkpoint)
    assert find_resume_checkpoint(str(tmp_path)) is None
    for epoch in (1, 2):
        torch.save(dict(meta=dict(epoch=epoch, iter=epoch),
                        state_dict=dict(w=torch.zeros(1))),
                   tmp_path / f'epoch_{epoch}.pth')
    (tmp_path / 'last_checkpoint').write_text('epoch_1.pth\n')
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'epoch_2.pth')
    for epoch in (1, 2):
        (tmp_path / f'epoch_{epoch}.pth').write_bytes(b'PK\x03\x04broken')
    with pytest.raises(CheckpointError) as error:
        find_resume_checkpoint(str(tmp_path))
    assert str(error.value).startswith(
        f'nothing readable to resume in {tmp_path}:\n  {tmp_path}/'
        'last_checkpoint is empty\n  checkpoint '
        f'{tmp_path}/epoch_2.pth is truncated or corrupted (10 bytes)')


def test_interrupted_checkpoint_write_leaves_the_previous_file(
        data, tmp_path, monkeypatch):
    """A save killed half-way (disk full, kill -9) leaves a temporary file
    at most; the checkpoint of that name keeps its earlier content."""
    import mmengine.runner.runner as runner_module
    from mmengine.registry import RUNNERS
    cfg = Config.fromfile(str(student_config(data, tmp_path / 'work',
                                             tmp_path / 'tiny.py')))
    runner = RUNNERS.build(cfg)
    runner.train_loop  # builds the train dataloader the meta is taken from
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    (out_dir / 'epoch_1.pth').write_bytes(b'the earlier checkpoint')
    save = runner_module.save_checkpoint

    def interrupted(checkpoint, filename, *args, **kwargs):
        with open(filename, 'wb') as f:
            f.write(b'PK\x03\x04 half a checkpoint')
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module, 'save_checkpoint', interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.save_checkpoint(str(out_dir), 'epoch_1.pth',
                               save_optimizer=False,
                               save_param_scheduler=False)
    assert os.listdir(out_dir) == ['epoch_1.pth']
    assert (out_dir / 'epoch_1.pth').read_bytes() == b'the earlier checkpoint'
    monkeypatch.setattr(runner_module, 'save_checkpoint', save)
    runner.save_checkpoint(str(out_dir), 'epoch_1.pth', save_optimizer=False,
                           save_param_scheduler=False)
    assert os.listdir(out_dir) == ['epoch_1.pth']
    assert 'state_dict' in torch.load(out_dir / 'epoch_1.pth',
                                      weights_only=True)
