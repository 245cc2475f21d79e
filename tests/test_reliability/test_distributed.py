"""``tools/dist_train.sh`` with 2 CPU processes (gloo) on a tiny KD+QAT
config, then ``tools/test.py`` on its checkpoint."""
import json
import subprocess

import pytest
import torch
from reliability_utils import (free_port, make_textured_driveact, run_tool,
                               save_tiny_checkpoints, tiny_kd_qat_cfg,
                               tool_env)

from conftest import REPO_ROOT, qat_reference_accuracies

ACCURACIES = ('acc/mean_class_accuracy', 'acc/top1', 'acc/top5')


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    data = make_textured_driveact(root / 'data')
    teacher, student = save_tiny_checkpoints(root)
    work_dir = root / 'work'
    cfg = tiny_kd_qat_cfg(data, str(work_dir), teacher, student, 1)
    cfg.train_cfg.freeze_bn_begin = -1  # observers on in the epoch
    cfg.train_cfg.disable_observer_begin = -1
    cfg.custom_hooks.append(dict(type='ReliabilityRankBuffersHook'))
    config = root / 'kd_qat_tiny.py'
    cfg.dump(str(config))
    env = tool_env()
    env['MASTER_PORT'] = str(free_port())
    result = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / 'dist_train.sh'),
         str(config), '2', '--work-dir', str(work_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-4000:]
    (log, ) = work_dir.glob('*/*.log')  # rank 0's
    return dict(config=config, work_dir=work_dir, log=log.read_text())


def rank_buffers(work_dir, rank, when):
    return torch.load(
        work_dir / 'rank_buffers' / f'rank{rank}_{when}.pth',
        weights_only=True)


def test_two_cpu_processes_train_the_ddp_wrapped_model(dist_run):
    log = dist_run['log']
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    # 4 training chunks, 2 per rank, batches of 2: 1 iteration per epoch.
    assert 'Epoch(train) [1][1/1]' in log
    for rank in (0, 1):
        dumped = rank_buffers(dist_run['work_dir'], rank, 'after_sync')
        assert dumped['wrapper'] == 'MMArchitectureQuantDDP'
    assert (dist_run['work_dir'] / 'epoch_1.pth').is_file()


def observers(buffers):
    return {
        key: value
        for key, value in buffers.items()
        if key.startswith('qmodels.loss.activation_post_process')
        and key.endswith(('min_val', 'max_val'))
    }


def test_observer_and_bn_buffers_are_synced_across_ranks(dist_run):
    work_dir = dist_run['work_dir']
    before = [rank_buffers(work_dir, r, 'before_sync')['buffers']
              for r in (0, 1)]
    after = [rank_buffers(work_dir, r, 'after_sync')['buffers']
             for r in (0, 1)]
    # The ranks observed different clips ...
    assert any(not torch.equal(value, observers(before[1])[key])
               for key, value in observers(before[0]).items())
    # ... and end the epoch with the same buffers, all of them.
    assert after[0].keys() == after[1].keys()
    assert [key for key, value in after[0].items()
            if not torch.equal(value, after[1][key])] == []
    synced = observers(after[0])
    assert len(synced) > 50
    for key, value in synced.items():
        expected = (observers(before[0])[key] +
                    observers(before[1])[key]) / 2
        torch.testing.assert_close(value, expected, msg=key)
    # The checkpoint (rank 0) holds the synced state.
    state_dict = torch.load(work_dir / 'epoch_1.pth',
                            weights_only=True)['state_dict']
    for key, value in after[0].items():
        if key in state_dict:
            assert torch.equal(state_dict[key], value), key


def test_test_tool_tests_the_distributed_checkpoint(dist_run, tmp_path):
    work_dir = tmp_path / 'test'
    result = run_tool(REPO_ROOT / 'tools' / 'test.py', dist_run['config'],
                      dist_run['work_dir'] / 'epoch_1.pth', '--work-dir',
                      work_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((work_dir / 'test_metrics.json').read_text())
    assert set(metrics) == {
        *(f'{model}/{key}' for model in ('fakequant', 'int8')
          for key in ACCURACIES), 'float/size_mb', 'int8/size_mb',
        'int8/compression_ratio'
    }
    reference = qat_reference_accuracies(dist_run['config'],
                                         dist_run['work_dir'] / 'epoch_1.pth',
                                         work_dir / 'int8_model.pt')
    assert len(reference) == 4
    for key, value in reference.items():
        assert metrics[key] == pytest.approx(value), key
