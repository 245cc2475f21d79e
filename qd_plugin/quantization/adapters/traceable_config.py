"""The traceable twins of MMAction2's recognizers and heads, by config."""
import copy
import inspect
from typing import Dict, Union

from mmengine.config import ConfigDict

#: MMAction2 recognizers and their traceable subclasses in qd_plugin (same
#: modules and state dicts).
TRACEABLE_RECOGNIZERS = {
    'Recognizer3D': 'TraceableRecognizer3D',
    'Recognizer2D': 'TraceableRecognizer2D',
}
#: MMAction2 heads and their traceable subclasses in qd_plugin.
TRACEABLE_HEADS = {
    'I3DHead': 'TraceableI3DHead',
    'X3DHead': 'TraceableX3DHead',
    'SlowFastHead': 'TraceableSlowFastHead',
    'TSNHead': 'TraceableTSNHead',
    'TSMHead': 'TraceableTSMHead',
}

_SCOPE = 'mmaction.'


def _type_name(module_type: Union[str, type]) -> str:
    if inspect.isclass(module_type):
        return module_type.__name__
    module_type = str(module_type)
    if module_type.startswith(_SCOPE):
        return module_type[len(_SCOPE):]
    return module_type


def _traceable_type(cfg: Dict, twins: Dict[str, str], what: str) -> str:
    name = _type_name(cfg['type'])
    if name in twins.values():
        return name
    if name not in twins:
        raise ValueError(
            f'QAT has no traceable version of the {what} type {name!r}; '
            f'supported: {sorted(twins)} (or their Traceable* twins)')
    return twins[name]


def traceable_recognizer_cfg(cfg: Dict) -> ConfigDict:
    """A recognizer config with the traceable twins of its recognizer and
    head types, built in the ``mmaction`` scope.

    Everything else (backbone, head arguments, data preprocessor) is kept,
    so the stock config of an MMAction2 model can be given as it is, e.g.
    ``architecture=_base_.model`` with ``_base_`` an ``mmaction::`` config.

    Args:
        cfg (dict): A ``Recognizer3D``/``Recognizer2D`` config (or one of
            their traceable twins) with a ``cls_head`` of
            :data:`TRACEABLE_HEADS`.

    Returns:
        ConfigDict: The rewritten copy.

    Raises:
        ValueError: the recognizer or head type has no traceable twin.
    """
    cfg = ConfigDict(copy.deepcopy(cfg))
    cfg.type = _traceable_type(cfg, TRACEABLE_RECOGNIZERS, 'recognizer')
    if cfg.get('cls_head') is None:
        raise ValueError(f'a {cfg.type} for QAT needs a cls_head')
    cfg.cls_head.type = _traceable_type(cfg.cls_head, TRACEABLE_HEADS, 'head')
    cfg.setdefault('_scope_', 'mmaction')
    return cfg
