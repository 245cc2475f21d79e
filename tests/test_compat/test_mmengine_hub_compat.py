"""mmengine.hub_metafile_config_list: defect in a fresh interpreter without
qd_plugin, fix with qd_plugin imported."""
import subprocess
import sys
import textwrap

from mmengine.hub import get_config

import qd_plugin  # noqa: F401  (applies the compat patches)
from qd_plugin.compat.mmengine import HUB_METAFILE_CONFIG_LIST

I3D = ('recognition/i3d/'
       'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py')


def test_defect_hub_lookup_of_any_mmaction_config():
    """Upstream alone: the metafile lookup mmengine.hub.get_config does."""
    script = textwrap.dedent(f'''
        import importlib.util, os.path as osp, sys
        sys.modules['qd_plugin'] = None
        from mmengine.config.utils import _get_cfg_metainfo
        package = osp.dirname(importlib.util.find_spec('mmaction').origin)
        _get_cfg_metainfo(package, {I3D!r})
    ''')
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "'list' object has no attribute 'partition'" in result.stderr


def test_fixed_get_config_finds_the_metafile_entry():
    assert HUB_METAFILE_CONFIG_LIST.applied
    assert not HUB_METAFILE_CONFIG_LIST.detect()
    assert HUB_METAFILE_CONFIG_LIST.apply() is False
    cfg = get_config(f'mmaction::{I3D}', pretrained=True)
    assert cfg.model.backbone.type == 'ResNet3d'
    assert cfg.model.cls_head.num_classes == 400
    # The zoo weights of the entry, from its metafile.
    assert cfg.model_path.startswith('https://download.openmmlab.com/')
    assert cfg.model_path.endswith('.pth')
    # The entry that lists two configs is readable too.
    bsn = get_config('mmaction::localization/bsn/'
                     'bsn_tem_1xb16-400x100-20e_activitynet-feature.py')
    assert bsn.model.type == 'TEM'
