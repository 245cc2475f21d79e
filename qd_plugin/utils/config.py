import ast
import difflib
import inspect
import math
import os
import os.path as osp
import tempfile
import uuid
from typing import Any, Dict, List, Optional, Set

from mmengine.config import Config

from ..datasets.driveact_classes import DRIVEACT_VIEWS
from .config_scope import CONFIG_PREFIX
from .package_files import config_path

#: Cross-validation splits of Drive&Act.
DRIVEACT_SPLITS = (0, 1, 2)
# Top-level keys the Runner reads besides the config's own variables.
_RUNNER_KEYS = ('runner_type', 'custom_imports', 'model_wrapper_cfg',
                'compile', 'gpu_ids')
_BASE_KEY = '_base_'
_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class ConfigError(ValueError):
    """A config or ``--cfg-options`` setting that cannot be right."""


def runner_keys() -> Set[str]:
    """The top-level config keys MMEngine's Runner reads."""
    from mmengine.runner import Runner
    parameters = inspect.signature(Runner.__init__).parameters
    return (set(parameters) - {'self', 'cfg'}) | set(_RUNNER_KEYS)


def _assignments(source: str) -> Dict[str, ast.Assign]:
    return {
        target.id: node
        for node in ast.parse(source).body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    }


def _bases(source: str) -> List[str]:
    """The ``_base_`` entries of a config file's source."""
    node = _assignments(source).get(_BASE_KEY)
    if node is None:
        return []
    try:
        bases = ast.literal_eval(node.value)
    except ValueError:  # not a literal: its variables are merged, not bound
        return []
    return [bases] if isinstance(bases, str) else list(bases)


def _own_base_path(path: str, base: str) -> Optional[str]:
    """The file of a ``_base_`` entry that is one of our configs: a local
    file or a ``qd_plugin::`` package config; None for other packages'."""
    if base.startswith(CONFIG_PREFIX):
        return config_path(base[len(CONFIG_PREFIX):])
    if '::' in base:
        return None
    return osp.join(osp.dirname(path), base)


def assigned_variables(path: str) -> Set[str]:
    """The top-level variables assigned by a config file and its bases,
    local or ``qd_plugin::`` ones (not those of other packages' configs,
    ``'mmaction::...'``)."""
    with open(path, encoding='utf-8') as f:
        source = f.read()
    names = set(_assignments(source)) - {_BASE_KEY}
    for base in _bases(source):
        base_path = _own_base_path(path, base)
        if base_path is not None:
            names |= assigned_variables(base_path)
    return names


def _rebound_copy(path: str, variables: Dict[str, Any], created: List[str],
                  in_package: bool = False) -> str:
    """A copy of the config file ``path`` whose assignments of
    ``variables`` are re-bound, with its bases replaced by their re-bound
    copies.

    A user's file is copied beside it, so that its relative ``_base_`` paths
    resolve. A package config (``in_package``: a ``qd_plugin::`` base or a
    base of one) is copied into the temporary folder, as the package may be
    read-only, with its local bases made absolute; its copy is inherited as
    ``'qd_plugin::<absolute path>'``, which keeps the package's scope.

    Returns ``path`` itself when neither it nor a base assigns a variable.
    The copies written are appended to ``created``.
    """
    with open(path, encoding='utf-8') as f:
        source = f.read()
    assignments = _assignments(source)
    edits = [(assignments[name], f'{name} = {value!r}\n')
             for name, value in variables.items() if name in assignments]
    bases = _bases(source)
    new_bases, rebound_bases = [], False
    for base in bases:
        base_path = _own_base_path(path, base)
        if base_path is None:
            new_bases.append(base)
            continue
        from_package = in_package or base.startswith(CONFIG_PREFIX)
        copy = _rebound_copy(base_path, variables, created, from_package)
        rebound_bases |= copy != base_path
        if base.startswith(CONFIG_PREFIX):
            new_bases.append(base if copy == base_path else CONFIG_PREFIX +
                             copy)
        elif in_package:
            new_bases.append(copy)
        else:
            new_bases.append(base if copy == base_path else osp.join(
                osp.dirname(base), osp.basename(copy)))
    if rebound_bases or (edits and in_package and new_bases != bases):
        edits.append(
            (assignments[_BASE_KEY], f'{_BASE_KEY} = {new_bases!r}\n'))
    if not edits:
        return path
    lines = source.splitlines(keepends=True)
    for node, text in sorted(edits, key=lambda edit: -edit[0].lineno):
        lines[node.lineno - 1:node.end_lineno] = [text]
    folder = tempfile.gettempdir() if in_package else osp.dirname(
        osp.abspath(path))
    rebound = osp.join(folder, f'.{uuid.uuid4().hex}_{osp.basename(path)}')
    with open(rebound, 'w', encoding='utf-8') as f:
        f.writelines(lines)
    created.append(rebound)
    return rebound


def check_option_keys(path: str, cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` whose top-level key the config lacks.

    MMEngine adds such a key silently, and nothing reads it: a typo
    (``bata=0.5``) trains with the default.

    Args:
        path (str): The config file, for the message.
        cfg (Config): The config loaded from it.
        options (dict): The parsed ``--cfg-options``.

    Raises:
        ConfigError: Names every unknown key, a close match if there is one,
            and lists the valid top-level keys.
    """
    valid = set(cfg.keys()) | runner_keys()
    unknown = sorted({key.split('.')[0]
                      for key in options} - valid)
    if not unknown:
        return
    lines = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=1)
        lines.append(f'{key!r}' + (f' (did you mean {close[0]!r}?)'
                                   if close else ''))
    runner_only = sorted(runner_keys() - set(cfg))
    raise ConfigError(
        f'--cfg-options: unknown top-level key(s) {", ".join(lines)} for '
        f'{path}; the config and its bases define {", ".join(sorted(cfg))}, '
        f'and the Runner also reads {", ".join(runner_only)}')


def _load_rebound(path: str, variables: Dict[str, Any]) -> Config:
    created: List[str] = []
    try:
        cfg = Config.fromfile(_rebound_copy(path, variables, created))
    finally:
        for copy in created:
            os.remove(copy)
    # Name the user's file in dumps and logs, not the temporary one.
    object.__setattr__(cfg, '_filename', path)
    return cfg


def _leaves(node: Any, where: str = ''):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f'{where}.{key}' if where else key)
    else:
        yield where, node


def _check_something_follows(path: str, plain: Config, rebound: Config,
                             name: str) -> None:
    """Refuse re-binding a variable nothing is derived from: the option
    would change only the variable (a config written by ``Config.dump``
    holds literal copies of the derived settings)."""
    before, after = plain.to_dict(), rebound.to_dict()
    before.pop(name, None)
    after.pop(name, None)
    if before != after:
        return
    value = plain.get(name)
    copies = [
        where for where, leaf in _leaves(before)
        if where.rsplit('.', 1)[-1] == name or (
            isinstance(value, str) and leaf == value)
    ]
    hint = (f'; set the settings that hold its value instead, e.g. '
            f'{", ".join(f"{where}=..." for where in copies[:3])}'
            if copies else '')
    raise ConfigError(
        f'--cfg-options {name}=...: no setting of {path} is derived from its '
        f'top-level variable {name!r}, so the option would change nothing '
        '(a config written by Config.dump holds literal copies of the '
        f'derived settings){hint}')


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """``Config.fromfile`` plus ``--cfg-options``, where options may also name
    the top-level variables of the config file and its bases.

    MMEngine resolves a config's variables while it parses the file, so
    ``--cfg-options teacher_ckpt=X`` would only change the variable, not the
    ``model.teacher_ckpt`` built from it. Here a non-dotted option that names
    a variable assigned at the top level of ``path`` or of one of its local
    or ``qd_plugin::`` ``_base_`` files re-binds that assignment (in every
    file assigning it) before the files run, so every value derived from it
    follows (e.g. ``beta`` also changes the CE weight ``1 - beta``,
    ``split`` the split of every dataset). The other options are merged as
    usual. Every option must name (or, dotted, start with) a top-level key
    of the config or one the Runner reads.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Parsed ``--cfg-options``.

    Returns:
        Config: The loaded config.

    Raises:
        ConfigError: An option names an unknown top-level key (see
            :func:`check_option_keys`), or re-binds a variable that no
            setting is derived from (other than one the Runner reads).
    """
    options = dict(cfg_options or {})
    cfg = Config.fromfile(path)
    if not options:
        return cfg
    check_option_keys(path, cfg, options)
    assigned = assigned_variables(path)
    variables = {
        name: options.pop(name)
        for name in list(options) if name in assigned
    }
    if variables:
        plain = cfg
        cfg = _load_rebound(path, variables)
        for name, value in variables.items():
            if name in runner_keys() or value == plain.get(name):
                continue
            alone = cfg if len(variables) == 1 else _load_rebound(
                path, {name: value})
            _check_something_follows(path, plain, alone, name)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(
        value, bool) and math.isfinite(value)


def _driveact_datasets(cfg: Config):
    """``(where, dataset cfg)`` of the Drive&Act datasets of the loaders
    (through dataset wrappers such as ``RepeatDataset``)."""
    for loader_name in _DATALOADERS:
        loader = cfg.get(loader_name)
        if not isinstance(loader, dict):
            continue
        dataset, where = loader.get('dataset'), f'{loader_name}.dataset'
        while isinstance(dataset, dict):
            kind = dataset.get('type')
            if kind == 'DriveActDataset' or getattr(
                    kind, '__name__', None) == 'DriveActDataset':
                yield where, dataset
                break
            dataset, where = dataset.get('dataset'), where + '.dataset'


def _loss_settings(node: Any, where: str):
    """``(where, key, value)`` of every ``tau`` and ``loss_weight`` set in a
    (nested) model config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('tau', 'loss_weight'):
                yield f'{where}.{key}', key, value
            else:
                yield from _loss_settings(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _loss_settings(value, f'{where}[{i}]')


def config_problems(cfg: Config) -> List[str]:
    """What is out of range in a config: the Drive&Act split and views, the
    distillation temperature ``T`` and weight ``beta``, loss weights.

    Args:
        cfg (Config): A loaded config.

    Returns:
        list[str]: One line per problem; empty if none.
    """
    problems = []
    datasets: Dict[str, List[str]] = {}
    for where, dataset in _driveact_datasets(cfg):
        split = dataset.get('split', 0)
        if not (isinstance(split, int) and not isinstance(split, bool)
                and split in DRIVEACT_SPLITS):
            datasets.setdefault(
                f'split = {split!r}: Drive&Act has splits '
                f'{", ".join(map(str, DRIVEACT_SPLITS))}', []).append(where)
        views = dataset.get('views', 'inner_mirror')
        listed = [views] if isinstance(views, str) else views
        unknown = [v for v in listed if v not in DRIVEACT_VIEWS] \
            if isinstance(listed, (list, tuple)) else [views]
        if unknown or not listed:
            datasets.setdefault(
                f'views = {views!r}: unknown Drive&Act view(s) {unknown}; '
                f'the views are {", ".join(DRIVEACT_VIEWS)}', []).append(where)
    for problem, places in datasets.items():
        problems.append(f'{problem} (in {", ".join(places)})')
    bad_t = 'T' in cfg and not (_is_number(cfg.T) and cfg.T > 0)
    bad_beta = 'beta' in cfg and not (_is_number(cfg.beta)
                                      and 0 <= cfg.beta <= 1)
    if bad_t:
        problems.append(f'T = {cfg.T!r}: the distillation temperature must '
                        'be a number > 0')
    if bad_beta:
        problems.append(
            f'beta = {cfg.beta!r}: the distillation weight must be within '
            '[0, 1] (the loss is (1 - beta) * CE + beta * T^2 * KL)')
    for where, key, value in _loss_settings(cfg.get('model'), 'model'):
        if key == 'tau' and not bad_t and not (_is_number(value)
                                               and value > 0):
            problems.append(f'{where} = {value!r}: a temperature must be a '
                            'number > 0')
        if key == 'loss_weight' and not bad_beta and not (
                _is_number(value) and value >= 0):
            problems.append(f'{where} = {value!r}: a loss weight must be a '
                            'number >= 0')
    return problems


def validate_config(cfg: Config) -> None:
    """Refuse a config with out-of-range settings, before the Runner.

    Args:
        cfg (Config): A loaded config (after the command line).

    Raises:
        ConfigError: Lists every problem of :func:`config_problems`.
    """
    problems = config_problems(cfg)
    if problems:
        name = cfg.filename or 'the config'
        raise ConfigError(f'invalid setting(s) in {name}: ' +
                          '; '.join(problems))
