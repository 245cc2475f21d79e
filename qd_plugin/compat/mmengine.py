"""Patches for mmengine 0.10.7 on recent PyTorch."""
import copy
import functools
import io
from typing import Any, Dict, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .patch import CompatPatch, register_patch


def _runner_checkpoint_globals() -> list:
    """The non-tensor globals a checkpoint saved by mmengine's Runner pickles.

    ``message_hub`` stores :class:`HistoryBuffer` objects holding numpy arrays
    and scalars, and the buffers' statistics methods are pickled as
    ``getattr(HistoryBuffer, 'mean')``. ``getattr`` is safe to allow: the
    weights-only unpickler still refuses to *call* anything not allow-listed.
    """
    multiarray = getattr(np, '_core', None) or np.core
    dtype_classes = [
        getattr(np.dtypes, name) for name in dir(np.dtypes)
        if name.endswith('DType')
    ]
    return [
        HistoryBuffer, getattr, np.dtype, np.ndarray,
        multiarray.multiarray._reconstruct, multiarray.multiarray.scalar,
        *dtype_classes
    ]


def _runner_checkpoint_blocked() -> bool:
    buffer = io.BytesIO()
    history = HistoryBuffer()
    history.update(np.float64(1.0))
    torch.save({'message_hub': {'log_scalars': {'loss': history}}}, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, weights_only=True)
    except Exception:  # UnpicklingError, wrapped differently across versions
        return True
    return False


def _allow_runner_checkpoint_globals() -> None:
    torch.serialization.add_safe_globals(_runner_checkpoint_globals())


CHECKPOINT_WEIGHTS_ONLY = register_patch(
    CompatPatch(
        name='mmengine.checkpoint_weights_only',
        package='mmengine',
        defect='torch.load defaults to weights_only=True and rejects the '
        'HistoryBuffer/numpy globals in checkpoints saved by the Runner '
        '(tools/test.py, --resume, load_from fail)',
        detect=_runner_checkpoint_blocked,
        fix=_allow_runner_checkpoint_globals))


def _pkg_resources_missing() -> bool:
    from mmengine.utils import package_utils
    if getattr(package_utils.is_installed, '__qd_compat__', False):
        return False
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        return True
    return False


def _is_installed(package: str) -> bool:
    from importlib import metadata, util
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        spec = util.find_spec(package)
        return spec is not None and spec.origin is not None


def _package2module(package: str) -> str:
    from importlib import metadata
    top_level = metadata.distribution(package).read_text('top_level.txt')
    if not top_level:
        raise ValueError(f'can not infer the module name of {package}')
    return top_level.split('\n')[0]


def _get_installed_path(package: str) -> str:
    import os.path as osp
    from importlib import metadata, util
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError as error:
        spec = util.find_spec(package)
        if spec is None or spec.origin is None:
            raise error
        return osp.dirname(spec.origin)
    location = str(distribution.locate_file(''))
    if osp.exists(osp.join(location, package)):
        return osp.join(location, package)
    return osp.join(location, _package2module(package))


def _use_importlib_metadata() -> None:
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    import mmengine.utils as utils
    from mmengine.utils import package_utils
    for function in (_is_installed, _get_installed_path, _package2module):
        function.__qd_compat__ = True
    replacements = dict(
        is_installed=_is_installed,
        get_installed_path=_get_installed_path,
        package2module=_package2module)
    for module in (package_utils, utils, config_module, hub_module):
        for name, function in replacements.items():
            if hasattr(module, name):
                setattr(module, name, function)


PACKAGE_CONFIGS_WITHOUT_PKG_RESOURCES = register_patch(
    CompatPatch(
        name='mmengine.package_utils_without_pkg_resources',
        package='mmengine',
        defect='mmengine.utils.package_utils imports pkg_resources, which '
        'recent setuptools no longer ships: package configs '
        "('mmaction::...', MMRazor cfg_path) fail with ModuleNotFoundError",
        detect=_pkg_resources_missing,
        fix=_use_importlib_metadata))


def _metafile_lookup_crashes() -> bool:
    import mmengine.config.config as config_module
    from mmengine.utils import get_installed_path
    if getattr(config_module._get_external_cfg_path, '__qd_compat__', False):
        return False
    try:
        config_module._get_external_cfg_path(
            get_installed_path('mmaction2'), '_base_/models/tsn_r50.py')
    except AttributeError:
        return True
    except Exception:  # ValueError/FileNotFoundError: handled upstream
        return False
    return False


def _fall_back_on_unreadable_metafiles() -> None:
    import mmengine.config.config as config_module
    lookup = config_module._get_external_cfg_path

    def get_external_cfg_path(package_path: str, cfg_file: str) -> str:
        try:
            return lookup(package_path, cfg_file)
        except AttributeError as error:
            # Config._get_cfg_path falls back on the plain path for ValueError.
            raise ValueError(str(error)) from error

    get_external_cfg_path.__qd_compat__ = True
    config_module._get_external_cfg_path = get_external_cfg_path


PACKAGE_CONFIG_METAFILE_LIST = register_patch(
    CompatPatch(
        name='mmengine.package_config_metafile_list',
        package='mmengine',
        defect="mmengine expects every metafile 'Config' to be a string; "
        "mmaction2 1.1.0's BSN entry is a list, so every 'mmaction::' "
        'config fails with AttributeError before the plain path is tried',
        detect=_metafile_lookup_crashes,
        fix=_fall_back_on_unreadable_metafiles))


# MMEngine's hub cannot look up an ``mmaction::`` config:
# ``mmengine.hub.get_config`` (and ``get_model``, which MMRazor calls for a
# teacher given as ``cfg_path='mmaction::...'``) first reads every metafile of
# the package to find the config's entry and expects each entry's ``Config``
# to be a string; mmaction2 1.1.0's BSN entry lists two, so the lookup of any
# MMAction2 config fails with ``'list' object has no attribute 'partition'``
# (``package_config_metafile_list`` fixes ``Config.fromfile``'s lookups only).
# The fix reads such an entry as one entry per listed config.
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


def _hub_metafile_lookup_crashes() -> bool:
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
        detect=_hub_metafile_lookup_crashes,
        fix=_split_listed_configs))


# The launchers' init functions that select a CUDA device unconditionally.
_DIST_INIT_FUNCTIONS = ('_init_dist_pytorch', '_init_dist_slurm')


def _dist_init_needs_cuda() -> bool:
    import inspect

    from mmengine.dist import utils as dist_utils
    if torch.cuda.is_available():
        return False
    return any(
        'torch.cuda.set_device(' in inspect.getsource(function)
        and not getattr(function, '__qd_compat__', False)
        for function in (getattr(dist_utils, name)
                         for name in _DIST_INIT_FUNCTIONS))


def _init_dist_without_cuda() -> None:
    import functools
    from unittest import mock

    from mmengine.dist import utils as dist_utils

    def skip_device_selection(original):

        @functools.wraps(original)
        def init_dist(backend, *args, **kwargs):
            if torch.cuda.is_available():
                return original(backend, *args, **kwargs)
            # Without CUDA there is no device to select (skip only that
            # call), and NCCL, the configs' default backend, cannot run.
            if backend == 'nccl':
                backend = 'gloo'
            with mock.patch.object(torch.cuda, 'set_device',
                                   lambda device: None):
                return original(backend, *args, **kwargs)

        init_dist.__qd_compat__ = True
        return init_dist

    for name in _DIST_INIT_FUNCTIONS:
        setattr(dist_utils, name,
                skip_device_selection(getattr(dist_utils, name)))


DIST_INIT_WITHOUT_CUDA = register_patch(
    CompatPatch(
        name='mmengine.dist_init_without_cuda',
        package='mmengine',
        defect='init_dist (pytorch and slurm launchers) always calls '
        'torch.cuda.set_device: multi-process training on CPU (gloo) fails '
        "with AttributeError '_cuda_setDevice' (and configs' nccl backend "
        'cannot run there: gloo is used instead)',
        detect=_dist_init_needs_cuda,
        fix=_init_dist_without_cuda))


def _ddp_gets_device_ids_on_cpu() -> bool:
    import inspect

    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner import Runner
    if torch.cuda.is_available() or getattr(MMDistributedDataParallel.__init__,
                                            '__qd_compat__', False):
        return False
    return "device_ids=[int(os.environ['LOCAL_RANK'])]" in inspect.getsource(
        Runner.wrap_model)


def _drop_device_ids_for_cpu_modules() -> None:
    import functools

    from mmengine.model import MMDistributedDataParallel
    original = MMDistributedDataParallel.__init__

    @functools.wraps(original)
    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu:
            kwargs['device_ids'] = None
        original(self, module, detect_anomalous_params, **kwargs)

    __init__.__qd_compat__ = True
    MMDistributedDataParallel.__init__ = __init__


DDP_DEVICE_IDS_ON_CPU = register_patch(
    CompatPatch(
        name='mmengine.ddp_device_ids_on_cpu',
        package='mmengine',
        defect='Runner.wrap_model passes device_ids=[LOCAL_RANK] to '
        'DistributedDataParallel also for CPU modules, which torch rejects',
        detect=_ddp_gets_device_ids_on_cpu,
        fix=_drop_device_ids_for_cpu_modules))


# The modules that call install_package for a package config's package.
_INSTALLING_MODULES = ('mmengine.hub.hub', 'mmengine.hub')


def _hub_installs_missing_packages() -> bool:
    import importlib
    import inspect
    for module_name in _INSTALLING_MODULES:
        install = getattr(
            importlib.import_module(module_name), 'install_package', None)
        if install is not None and not getattr(install, '__qd_compat__',
                                               False):
            if 'pip' in inspect.getsource(install):
                return True
    return False


def _require_installed(package: str) -> None:
    """Raise for a package that is not installed; never install it."""
    if not _is_installed(package):
        raise ModuleNotFoundError(
            f"{package} is not installed: a '{package}::' config needs it. "
            f'Install it yourself (e.g. pip install {package}); configs '
            'never install packages.',
            name=package)


def _never_install_packages() -> None:
    import importlib
    _require_installed.__qd_compat__ = True
    for module_name in _INSTALLING_MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, 'install_package'):
            module.install_package = _require_installed


HUB_NEVER_INSTALLS = register_patch(
    CompatPatch(
        name='mmengine.hub_never_installs',
        package='mmengine',
        defect="mmengine.hub.get_config/get_model run `pip install <pkg>` "
        "at run time for a '<pkg>::' config whose package is not installed "
        '(e.g. an MMRazor teacher cfg_path)',
        detect=_hub_installs_missing_packages,
        fix=_never_install_packages))
