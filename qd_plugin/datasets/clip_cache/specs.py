"""What the entries of a clip cache were decoded and resized with.

A *step spec* is a transform config with every argument of the transform
filled in (defaults included) and tuples as lists, so that two configs of
the same transform compare equal exactly when they act the same, and the
spec survives a round trip through the JSON index.
"""
import inspect
from typing import Any, Dict, Optional, Union

from mmaction.registry import TRANSFORMS

Step = Union[dict, Any]


def type_name(step: Step) -> Optional[str]:
    """The transform's class name: ``'DecordInit'`` for
    ``dict(type='mmaction.DecordInit')``, a built transform's class name,
    None for a step without a type."""
    if isinstance(step, dict):
        kind = step.get('type')
        if isinstance(kind, str):
            return kind.rsplit('.', 1)[-1]
        return getattr(kind, '__name__', None)
    return type(step).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def step_spec(step: Optional[dict]) -> Optional[Dict[str, Any]]:
    """The spec of a transform config; None for None.

    Args:
        step (dict, optional): A transform config such as
            ``dict(type='Resize', scale=(-1, 256))``.

    Returns:
        dict, optional: E.g. ``{'type': 'Resize', 'scale': [-1, 256],
        'keep_ratio': True, 'interpolation': 'bilinear', 'lazy': False}``.
    """
    if step is None:
        return None
    name = type_name(step)
    args = {k: v for k, v in step.items() if k != 'type'}
    transform = TRANSFORMS.get(name)
    if transform is not None:
        try:
            signature = inspect.signature(transform)
        except (TypeError, ValueError):
            signature = None
        if signature is not None:
            bound = signature.bind_partial(**args)
            bound.apply_defaults()
            kinds = {p.name: p.kind for p in signature.parameters.values()}
            args = {}
            for key, value in bound.arguments.items():
                if kinds[key] == inspect.Parameter.VAR_KEYWORD:
                    args.update(value)
                elif kinds[key] != inspect.Parameter.VAR_POSITIONAL:
                    args[key] = value
    return dict(type=name, **_plain(args))


def format_spec(spec: Optional[Dict[str, Any]]) -> str:
    """A spec as a transform call, e.g. ``Resize(scale=[-1, 256], ...)``."""
    if spec is None:
        return 'no resize'
    args = ', '.join(f'{k}={v!r}' for k, v in spec.items() if k != 'type')
    return f'{spec["type"]}({args})'
