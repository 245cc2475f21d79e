"""MMEngine's hub cannot look up an ``mmaction::`` config.

``mmengine.hub.get_config`` (and ``get_model``, which MMRazor calls for a
teacher given as ``cfg_path='mmaction::...'``) first reads every metafile of
the package to find the config's entry. It expects each entry's ``Config``
to be a string; mmaction2 1.1.0's BSN entry lists two configs, so the lookup
of any MMAction2 config fails with ``AttributeError: 'list' object has no
attribute 'partition'``. (The ``mmengine.package_config_metafile_list``
patch fixes the same for ``Config.fromfile``'s ``_base_`` lookups only.)
The fix reads such an entry as one entry per listed config.
"""
import copy
import functools
from typing import Any, Dict, List

from .patch import CompatPatch, register_patch

_PROBE_CONFIG = ('recognition/i3d/'
                 'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_'
                 'kinetics400-rgb.py')


def _one_entry_per_config(models: List[Dict[str, Any]]) -> List[Dict]:
    entries = []
    for entry in models:
        configs = entry.get('Config') if isinstance(entry, dict) else None
        if isinstance(configs, (list, tuple)):
            for config in configs:
                entries.append(dict(copy.deepcopy(entry), Config=config))
        else:
            entries.append(entry)
    return entries


def _metafile_lookup_crashes() -> bool:
    from mmengine.config import utils as config_utils
    from mmengine.utils import get_installed_path
    if getattr(config_utils._get_cfg_metainfo, '__qd_compat__', False):
        return False
    try:
        config_utils._get_cfg_metainfo(
            get_installed_path('mmaction2'), _PROBE_CONFIG)
    except AttributeError:
        return True
    except Exception:  # not installed, or no such entry: not this defect
        return False
    return False


def _split_listed_configs() -> None:
    from mmengine.config import utils as config_utils
    from mmengine.hub import hub
    lookup = config_utils._get_cfg_metainfo
    load = config_utils.load

    def load_metafile(file, *args, **kwargs):
        content = load(file, *args, **kwargs)
        if isinstance(content, dict) and isinstance(
                content.get('Models'), list):
            content = dict(
                content, Models=_one_entry_per_config(content['Models']))
        return content

    @functools.wraps(lookup)
    def get_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
        # The lookup reads the metafiles with this module's `load`.
        config_utils.load = load_metafile
        try:
            return lookup(package_path, cfg_path)
        finally:
            config_utils.load = load

    get_cfg_metainfo.__qd_compat__ = True
    config_utils._get_cfg_metainfo = get_cfg_metainfo
    hub._get_cfg_metainfo = get_cfg_metainfo


HUB_METAFILE_CONFIG_LIST = register_patch(
    CompatPatch(
        name='mmengine.hub_metafile_config_list',
        package='mmengine',
        defect="mmengine.hub.get_config/get_model (MMRazor's teacher "
        "cfg_path='mmaction::...') expect every metafile 'Config' to be a "
        "string; mmaction2 1.1.0's BSN entry is a list: AttributeError "
        "'list' object has no attribute 'partition'",
        detect=_metafile_lookup_crashes,
        fix=_split_listed_configs))
