import ast
import os
import os.path as osp
import uuid
from typing import Any, Dict, Optional

from mmengine.config import Config


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """``Config.fromfile`` plus ``--cfg-options``, where options may also name
    the top-level variables of the config file.

    MMEngine resolves a config's variables while it parses the file, so
    ``--cfg-options teacher_ckpt=X`` would only change the variable, not the
    ``model.teacher_ckpt`` built from it. Here a non-dotted option that names
    a variable assigned at the top level of ``path`` itself re-binds that
    assignment before the file runs, so every value derived from it follows
    (e.g. ``beta`` also changes the CE weight ``1 - beta``). The other options
    are merged as usual.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Parsed ``--cfg-options``.

    Returns:
        Config: The loaded config.
    """
    options = dict(cfg_options or {})
    with open(path, encoding='utf-8') as f:
        source = f.read()
    assignments = {
        target.id: node
        for node in ast.parse(source).body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    }
    variables = {
        name: options.pop(name)
        for name in list(options) if name in assignments
    }
    if not variables:
        cfg = Config.fromfile(path)
    else:
        lines = source.splitlines(keepends=True)
        by_line = sorted(variables, key=lambda n: -assignments[n].lineno)
        for name in by_line:
            node = assignments[name]
            lines[node.lineno - 1:node.end_lineno] = [
                f'{name} = {variables[name]!r}\n'
            ]
        # Beside the original, so that relative `_base_` paths still resolve.
        rebound = osp.join(
            osp.dirname(osp.abspath(path)),
            f'.{uuid.uuid4().hex}_{osp.basename(path)}')
        with open(rebound, 'w', encoding='utf-8') as f:
            f.writelines(lines)
        try:
            cfg = Config.fromfile(rebound)
        finally:
            os.remove(rebound)
        # Name the user's file in dumps and logs, not the temporary one.
        object.__setattr__(cfg, '_filename', path)
    if options:
        cfg.merge_from_dict(options)
    return cfg
