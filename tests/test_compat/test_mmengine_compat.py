import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.runner import load_checkpoint

from qd_plugin.compat.mmengine import CHECKPOINT_WEIGHTS_ONLY

SAVE_RUNNER_STYLE_CHECKPOINT = textwrap.dedent('''
    import sys
    import numpy as np
    import torch
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat-test')
    hub.update_scalar('train/loss', np.float64(0.5))
    torch.save(dict(state_dict=dict(weight=torch.ones(2)),
                    message_hub=hub.state_dict()), sys.argv[1])
''')


def save_runner_style_checkpoint(path):
    subprocess.run([sys.executable, '-c', SAVE_RUNNER_STYLE_CHECKPOINT,
                    str(path)], check=True)


def test_defect_without_the_plugin(tmp_path):
    """Upstream alone: mmengine cannot load its own Runner's checkpoints."""
    path = tmp_path / 'epoch_1.pth'
    save_runner_style_checkpoint(path)
    load = ('import sys, torch\n'
            'from mmengine.runner import load_checkpoint\n'
            'load_checkpoint(torch.nn.Module(), sys.argv[1])')
    result = subprocess.run([sys.executable, '-c', load, str(path)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert 'Unsupported global' in result.stderr
    assert 'HistoryBuffer' in result.stderr


def test_fixed_with_the_plugin_and_weights_only_kept(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    save_runner_style_checkpoint(path)
    assert CHECKPOINT_WEIGHTS_ONLY.applied
    assert not CHECKPOINT_WEIGHTS_ONLY.detect()
    assert CHECKPOINT_WEIGHTS_ONLY.apply() is False  # idempotent
    checkpoint = load_checkpoint(torch.nn.Module(), str(path), strict=False)
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert buffer.current() == 0.5
    # weights_only stays on: arbitrary globals are still refused.
    torch.save(dict(cls=subprocess.Popen), tmp_path / 'evil.pth')
    try:
        torch.load(tmp_path / 'evil.pth')
    except Exception as error:
        assert 'Unsupported global' in str(error)
    else:
        raise AssertionError('weights_only was disabled')


# pkg_resources is hidden the way a setuptools without it leaves it.
LOAD_PACKAGE_CONFIG = textwrap.dedent('''
    import sys, tempfile
    sys.modules['pkg_resources'] = None
    if sys.argv[1] == 'with-plugin':
        import qd_plugin
    from mmengine.config import Config
    with tempfile.NamedTemporaryFile('w', suffix='.py') as f:
        f.write("_base_ = ['mmaction::_base_/models/tsn_r50.py']")
        f.flush()
        cfg = Config.fromfile(f.name)
    print('backbone', cfg.model.backbone.type)
''')


def load_package_config(mode):
    return subprocess.run([sys.executable, '-c', LOAD_PACKAGE_CONFIG, mode],
                          capture_output=True, text=True)


def test_package_configs_fail_without_pkg_resources():
    result = load_package_config('without-plugin')
    assert result.returncode != 0
    assert 'import of pkg_resources halted' in result.stderr


def test_mmaction_package_configs_fail_on_a_list_metafile_entry():
    """Upstream alone: the metafile lookup of any 'mmaction::' config."""
    script = textwrap.dedent('''
        import importlib.util, os.path as osp
        from mmengine.config.config import _get_external_cfg_path
        package = osp.dirname(importlib.util.find_spec('mmaction').origin)
        _get_external_cfg_path(package, '_base_/models/tsn_r50.py')
    ''')
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "'list' object has no attribute 'partition'" in result.stderr


def test_package_config_patches_are_applied_once():
    from qd_plugin.compat.mmengine import (
        PACKAGE_CONFIG_METAFILE_LIST, PACKAGE_CONFIGS_WITHOUT_PKG_RESOURCES)
    for patch in (PACKAGE_CONFIG_METAFILE_LIST,
                  PACKAGE_CONFIGS_WITHOUT_PKG_RESOURCES):
        assert not patch.detect()
        assert patch.apply() is False


def test_package_configs_load_without_pkg_resources_with_the_plugin():
    result = load_package_config('with-plugin')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'backbone ResNet' in result.stdout


def test_importlib_metadata_replacements():
    import mmaction

    from qd_plugin.compat import mmengine as compat
    assert compat._is_installed('mmaction2') and compat._is_installed('torch')
    assert not compat._is_installed('no_such_package_qd')
    assert compat._package2module('mmaction2') == 'mmaction'
    assert compat._get_installed_path('mmaction2') == \
        osp.dirname(mmaction.__file__)


# One gloo process through mmengine's own launcher path, then the DDP wrapper
# the Runner builds for a CPU model.
SINGLE_PROCESS_DIST = textwrap.dedent('''
    import os, sys
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=sys.argv[2])
    if sys.argv[1] == 'with-plugin':
        import qd_plugin
    import torch
    from mmengine.dist import init_dist
    from mmengine.model import MMDistributedDataParallel
    init_dist('pytorch', backend='gloo')
    print('initialized')
    MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])
    print('wrapped')
''')


def run_single_process_dist(mode, port):
    return subprocess.run(
        [sys.executable, '-c', SINGLE_PROCESS_DIST, mode, str(port)],
        capture_output=True, text=True, timeout=120)


def test_cpu_distributed_defects_without_the_plugin():
    result = run_single_process_dist('without-plugin', 29631)
    assert result.returncode != 0
    assert "has no attribute '_cuda_setDevice'" in result.stderr
    assert 'initialized' not in result.stdout


def test_cpu_distributed_with_the_plugin():
    from qd_plugin.compat.mmengine import (DDP_DEVICE_IDS_ON_CPU,
                                           DIST_INIT_WITHOUT_CUDA)
    result = run_single_process_dist('with-plugin', 29632)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['initialized', 'wrapped']
    for patch in (DIST_INIT_WITHOUT_CUDA, DDP_DEVICE_IDS_ON_CPU):
        assert patch.applied and not patch.detect()


def test_ddp_rejects_device_ids_for_cpu_modules_upstream():
    """The second defect alone: torch refuses what the Runner passes."""
    script = SINGLE_PROCESS_DIST.replace(
        "init_dist('pytorch', backend='gloo')",
        "torch.distributed.init_process_group('gloo')")
    result = subprocess.run(
        [sys.executable, '-c', script, 'without-plugin', '29633'],
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert 'initialized' in result.stdout
    assert 'device_ids' in result.stderr and 'wrapped' not in result.stdout


def test_cpu_distributed_replaces_the_nccl_default_with_gloo():
    script = SINGLE_PROCESS_DIST.replace(
        "init_dist('pytorch', backend='gloo')",
        "init_dist('pytorch', backend='nccl')\n"
        "print(torch.distributed.get_backend())")
    result = subprocess.run(
        [sys.executable, '-c', script, 'with-plugin', '29634'],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['gloo', 'initialized', 'wrapped']


# ---------------------------------------------------------------------------
# mmengine.hub_never_installs
# ---------------------------------------------------------------------------
MISSING_PACKAGE_CONFIG = 'mmcls::resnet/resnet18_8xb32_in1k.py'


@pytest.fixture
def no_subprocess(monkeypatch):
    """Record every attempt to start a process (pip) and refuse it."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get('args'))
        raise AssertionError(f'a process was started: {calls[-1]}')

    for name in ('check_call', 'call', 'run', 'Popen', 'check_output'):
        monkeypatch.setattr(subprocess, name, refuse)
    monkeypatch.setattr(os, 'system', refuse)
    return calls


def test_hub_pip_installs_a_missing_config_package_upstream(
        no_subprocess, monkeypatch):
    import mmengine.hub.hub as hub
    from mmengine.utils import package_utils
    assert not package_utils.is_installed('mmcls')
    monkeypatch.setattr(hub, 'install_package', package_utils.install_package)
    with pytest.raises(AssertionError, match='a process was started'):
        hub.get_config(MISSING_PACKAGE_CONFIG)
    assert no_subprocess == [['python', '-m', 'pip', 'install', 'mmcls']]


def test_hub_names_the_missing_package_and_installs_nothing(no_subprocess):
    from mmengine.hub import get_config, get_model

    from qd_plugin.compat.mmengine import HUB_NEVER_INSTALLS
    assert HUB_NEVER_INSTALLS.applied and not HUB_NEVER_INSTALLS.detect()
    for load in (get_config, get_model):
        with pytest.raises(ModuleNotFoundError,
                           match='mmcls is not installed') as error:
            load(MISSING_PACKAGE_CONFIG)
        assert error.value.name == 'mmcls'
    assert no_subprocess == []


def test_base_config_of_a_missing_package_is_named(no_subprocess, tmp_path):
    from mmengine.config import Config
    config = tmp_path / 'user_config.py'
    config.write_text(f'_base_ = {MISSING_PACKAGE_CONFIG!r}\n')
    with pytest.raises(ModuleNotFoundError, match='mmcls is not installed'):
        Config.fromfile(str(config))
    assert no_subprocess == []
