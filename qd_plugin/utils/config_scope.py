"""``_base_ = 'qd_plugin::kd_qat_mbv3d.py'``: our configs as MMEngine package
configs, the way ``'mmaction::...'`` configs are inherited.

MMEngine resolves ``<package>::<path>`` only for the OpenMMLab packages it
lists (``mmengine.config.utils.MODULE2PACKAGE``), only for paths inside a
sub-folder, and from the installed package's ``.mim/configs``. Our configs sit
at the top of ``configs/`` (``kd_qat_mbv3d.py``) and must also resolve in a
source checkout, so the ``qd_plugin::`` prefix is resolved here, with
:func:`~qd_plugin.utils.package_files.config_path`; every other path goes to
MMEngine unchanged.

The base config's components are built in the ``mmaction`` scope: that is
where the plugin registers them and the ``default_scope`` our configs set.
MMEngine gives each top-level component of a package config the package's
scope (``_scope_``), as it does for ``mmaction::`` configs.
"""
import os.path as osp
from typing import Optional, Tuple

#: The prefix of our package configs.
CONFIG_PREFIX = 'qd_plugin::'
#: The registry scope our configs' components are built in.
CONFIG_SCOPE = 'mmaction'


def resolve_package_config(cfg_path: str) -> Optional[Tuple[str, str]]:
    """``(path, scope)`` of a ``qd_plugin::<name>`` config, None for any
    other path. An absolute ``<name>`` is taken as it is: the re-bound copy
    of a package config that ``load_config`` writes.

    Raises:
        FileNotFoundError: no config of that name in the package.
    """
    if not cfg_path.startswith(CONFIG_PREFIX):
        return None
    name = cfg_path[len(CONFIG_PREFIX):]
    if osp.isabs(name):
        return name, CONFIG_SCOPE
    from .package_files import config_path
    return config_path(name), CONFIG_SCOPE


def register_config_scope() -> None:
    """Let MMEngine's config parser resolve ``qd_plugin::`` paths
    (idempotent)."""
    from mmengine.config import Config
    get_cfg_path = Config.__dict__['_get_cfg_path'].__func__
    if getattr(get_cfg_path, 'qd_plugin_scope', False):
        return

    def _get_cfg_path(cfg_path: str,
                      filename: str) -> Tuple[str, Optional[str]]:
        resolved = resolve_package_config(cfg_path)
        return resolved if resolved else get_cfg_path(cfg_path, filename)

    _get_cfg_path.qd_plugin_scope = True
    _get_cfg_path.__wrapped__ = get_cfg_path
    Config._get_cfg_path = staticmethod(_get_cfg_path)
