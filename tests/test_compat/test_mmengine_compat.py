import subprocess
import sys
import textwrap

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
