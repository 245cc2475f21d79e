"""Checked checkpoint loading and the checks ``tools/train.py`` runs first.

MMEngine and MMRazor load checkpoints non-strictly: a checkpoint of another
architecture only logs a warning and the model keeps random weights. The
loaders here refuse such a checkpoint and name its missing and unexpected
keys, on every rank alike.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

# Keys shown per kind of mismatch; the error message gives the total.
_KEYS_SHOWN = 20
# The model keys a checkpoint may lack: BN layers add them when loading.
_OPTIONAL_KEYS = ('num_batches_tracked', )
# Model options naming a checkpoint that is loaded when the model is built.
_MODEL_CHECKPOINTS = (('teacher_ckpt', 'teacher checkpoint'),
                      ('float_checkpoint', 'float checkpoint'))


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose keys or shapes do not fit the model."""


def _is_local(filename: str) -> bool:
    return '://' not in filename


def _key_list(keys: List[str]) -> str:
    shown = ', '.join(keys[:_KEYS_SHOWN])
    more = len(keys) - _KEYS_SHOWN
    return shown + (f', ... ({more} more)' if more > 0 else '')


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           description: str = 'checkpoint',
                           map_location: str = 'cpu') -> Dict:
    """Load ``filename`` into ``model``; every key and shape must match.

    Args:
        model (nn.Module): The model (or model wrapper) to load into.
        filename (str): The checkpoint (a Runner checkpoint or a state dict).
        description (str): What the checkpoint is, for the messages, e.g.
            ``'teacher checkpoint'``. Defaults to ``'checkpoint'``.
        map_location (str): Where to load the tensors. Defaults to ``'cpu'``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CheckpointMismatchError: The checkpoint lacks keys of the model, has
            keys the model does not, or tensors of other shapes.
    """
    if _is_local(filename) and not osp.isfile(filename):
        raise FileNotFoundError(f'{description} not found: {filename}')
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    source = checkpoint.get('state_dict', checkpoint)
    state_dict = OrderedDict(
        (re.sub(r'^module\.', '', key), value)
        for key, value in source.items())
    metadata = getattr(source, '_metadata', None)
    if metadata is not None:
        state_dict._metadata = metadata
    module = model.module if is_model_wrapper(model) else model
    expected = module.state_dict()
    missing = [
        key for key in expected if key not in state_dict
        and not key.endswith(_OPTIONAL_KEYS)
    ]
    unexpected = [key for key in state_dict if key not in expected]
    name = type(module).__name__
    if missing or unexpected:
        lines = [
            f'{description} {filename} does not match the {name} it is '
            'loaded into (a checkpoint of another model?):'
        ]
        if missing:
            lines.append(f'missing keys ({len(missing)}): '
                         f'{_key_list(missing)}')
        if unexpected:
            lines.append(f'unexpected keys ({len(unexpected)}): '
                         f'{_key_list(unexpected)}')
        raise CheckpointMismatchError('\n  '.join(lines))
    try:
        module.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:  # shapes: another width or class count
        raise CheckpointMismatchError(
            f'{description} {filename} does not match the {name} it is '
            f'loaded into: {error}') from None
    print_log(f'loaded {description} {filename}', logger='current')
    return checkpoint


def _resumes(cfg: Config) -> bool:
    """Whether training starts from a checkpoint of the whole model."""
    if cfg.get('load_from'):
        return True
    return bool(cfg.get('resume')) and cfg.get('work_dir') is not None and \
        find_latest_checkpoint(cfg.work_dir) is not None


def check_training_checkpoints(cfg: Config) -> None:
    """Refuse a training config whose model checkpoints are missing.

    Runs before the Runner is built, so nothing is written to the work dir.

    Args:
        cfg (Config): The training config (after the command line).

    Raises:
        FileNotFoundError: ``model.teacher_ckpt`` or
            ``model.float_checkpoint`` names a file that does not exist.
        ValueError: A quantization-aware training config (its model has a
            ``float_checkpoint``) has none, and does not resume or load a
            checkpoint either: QAT would start from random weights.
    """
    model = cfg.get('model') or {}
    for key, description in _MODEL_CHECKPOINTS:
        filename = model.get(key)
        if filename and _is_local(filename) and not osp.isfile(filename):
            raise FileNotFoundError(
                f'{description} not found: {filename} (model.{key}; set it '
                f'with --cfg-options {key}=PATH)')
    if 'float_checkpoint' in model and not model['float_checkpoint'] \
            and not _resumes(cfg):
        raise ValueError(
            f'{model.get("type")} trains a quantized model from a float '
            'one, but float_checkpoint is None: quantization-aware training '
            'must start from the trained float student; pass --cfg-options '
            'float_checkpoint=PATH (or --resume / load_from a checkpoint of '
            'this quantized model)')
