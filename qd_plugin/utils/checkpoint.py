"""Checked checkpoint loading, used by every tool of the plugin.

MMEngine, MMRazor and MMDeploy load checkpoints non-strictly: a checkpoint of
another architecture only logs a warning and the model keeps random weights,
and a file that is not a checkpoint fails with torch's generic message (which
suggests turning ``weights_only`` off). Here:

* :func:`read_checkpoint` loads a file with ``weights_only=True`` and names
  the file and what is wrong with it (missing, empty, truncated, not a
  PyTorch file, pickled Python objects, no tensors);
* :func:`describe_state_dict` says what a state dict holds (e.g. "an
  Inception I3D recognizer state dict (344 tensors, 34 classes)");
* :func:`check_state_dict` refuses a state dict whose keys or shapes do not
  fit the model, naming both;
* :func:`load_checkpoint_strict` does all three and loads;
* :func:`find_resume_checkpoint` finds the checkpoint to resume in a work
  dir that may have been moved or copied, or whose latest checkpoint is
  unreadable;
* :func:`check_training_checkpoints` runs the file checks of
  ``tools/train.py`` before the Runner is built.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

# Keys shown per kind of mismatch; the error message gives the total.
_KEYS_SHOWN = 20
# The model keys a checkpoint may lack: BN layers add them when loading.
_OPTIONAL_KEYS = ('num_batches_tracked', )
# Model options naming a checkpoint that is loaded when the model is built.
_MODEL_CHECKPOINTS = (('teacher_ckpt', 'teacher checkpoint'),
                      ('float_checkpoint', 'float checkpoint'))
#: The head a ``load_from`` checkpoint may lack: Kinetics weights converted
#: with ``tools/convert_ckpt.py --drop-classifier`` for another class count.
HEAD_PREFIXES = ('cls_head.', )
#: What MMEngine's CheckpointHook names the checkpoints of a work dir.
_NUMBERED_CHECKPOINT = re.compile(r'(epoch|iter)_(\d+)\.pth')
_LAST_CHECKPOINT = 'last_checkpoint'

# Recognizers of this project and the released layouts tools/convert_ckpt.py
# takes, by a key only they have.
_LAYOUTS = (
    ('backbone.stem.conv.weight', 'a 3D MobileNet recognizer', ''),
    ('backbone.conv3d_1a_7x7.conv3d.weight', 'an Inception I3D recognizer',
     ''),
    ('backbone.conv1.conv.weight', 'a 3D ResNet (I3D-R50) recognizer', ''),
    ('features.0.0.weight', 'a released Efficient-3DCNNs MobileNet',
     'convert it with tools/convert_ckpt.py efficient3dcnn'),
    ('conv3d_1a_7x7.conv3d.weight', 'a released kinetics_i3d_pytorch I3D',
     'convert it with tools/convert_ckpt.py kinetics_i3d_pytorch'),
)
_HEAD_WEIGHTS = ('cls_head.fc_cls.weight', 'classifier.1.weight',
                 'conv3d_0c_1x1.conv3d.weight')


class CheckpointError(RuntimeError):
    """A file that cannot be used as the checkpoint asked for."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose keys or shapes do not fit the model."""


def _is_local(filename: str) -> bool:
    return '://' not in filename


def _key_list(keys: Sequence[str]) -> str:
    shown = ', '.join(keys[:_KEYS_SHOWN])
    more = len(keys) - _KEYS_SHOWN
    return shown + (f', ... ({more} more)' if more > 0 else '')


def _unreadable(description: str, filename: str, error: Exception) -> str:
    """Why torch.load failed on ``filename``, in words (without torch's
    advice to load with ``weights_only=False``)."""
    message = str(error)
    size = osp.getsize(filename) if _is_local(filename) else None
    head = f'{description} {filename}'
    refused = re.search(r'Unsupported global: GLOBAL ([\w.]+)', message)
    if refused:
        return (f'{head} holds pickled Python objects ({refused[1]}), not '
                'only tensors: checkpoints are loaded with '
                'weights_only=True, which refuses them because unpickling '
                'can run arbitrary code. Where the file was written, save '
                'the state dict instead: torch.save(model.state_dict(), '
                'PATH)')
    if size is not None and zipfile.is_zipfile(filename):
        return (f'{head} is a zip archive ({size} bytes) that is not a '
                f'readable PyTorch checkpoint (corrupted?): '
                f'{message.splitlines()[0]}')
    if size is not None and _first_bytes(filename, 1) == b'\x80' and \
            not _starts_like_torch(filename):
        return (f'{head} is a plain Python pickle ({size} bytes), not a '
                'PyTorch checkpoint written by torch.save')
    if isinstance(error, EOFError) or 'central directory' in message or (
            size is not None and _starts_like_torch(filename)):
        return (f'{head} is truncated or corrupted ({size} bytes): an '
                'interrupted save or copy? Use an earlier checkpoint or copy '
                'it again')
    return (f'{head} is not a PyTorch checkpoint ({size} bytes starting '
            f'with {_first_bytes(filename)!r})')


def _starts_like_torch(filename: str) -> bool:
    """Whether the file starts as a torch.save file does: a zip archive
    (``PK``) or the legacy format's pickle protocol 2 header."""
    with open(filename, 'rb') as f:
        return f.read(2) in (b'PK', b'\x80\x02')


def _first_bytes(filename: str, count: int = 16) -> bytes:
    with open(filename, 'rb') as f:
        return f.read(count)


def read_checkpoint(filename: str,
                    description: str = 'checkpoint',
                    map_location: str = 'cpu') -> Dict:
    """Load a checkpoint file with ``weights_only=True``.

    Args:
        filename (str): A local file, or a URL MMEngine can load.
        description (str): What the checkpoint is for, in the messages,
            e.g. ``'teacher checkpoint'``. Defaults to ``'checkpoint'``.
        map_location (str): Where to load the tensors. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint: a Runner checkpoint (``state_dict``, ``meta``,
        ...) or a state dict.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CheckpointError: It is a directory, empty, truncated, not a PyTorch
            file, holds pickled Python objects, or holds no tensors. The
            message names the file.
    """
    if _is_local(filename):
        if not osp.exists(filename):
            raise FileNotFoundError(f'{description} not found: {filename}')
        if osp.isdir(filename):
            raise CheckpointError(f'{description} {filename} is a directory, '
                                  'not a checkpoint file')
        if osp.getsize(filename) == 0:
            raise CheckpointError(
                f'{description} {filename} is empty (0 bytes): an '
                'interrupted save or copy? Use an earlier checkpoint')
    try:
        if _is_local(filename):
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=True)
        else:
            from mmengine.runner.checkpoint import _load_checkpoint
            checkpoint = _load_checkpoint(filename, map_location=map_location)
    except Exception as error:  # a file of arbitrary bytes fails anyhow
        raise CheckpointError(_unreadable(description, filename,
                                          error)) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'{description} {filename} holds a {type(checkpoint).__name__}, '
            'not a checkpoint (a dict of tensors, or a dict with a '
            "'state_dict')")
    source = checkpoint.get('state_dict', checkpoint)
    if not isinstance(source, dict) or not any(
            isinstance(value, torch.Tensor) for value in source.values()):
        keys = sorted(map(str, checkpoint))
        raise CheckpointError(
            f'{description} {filename} holds no state dict: a dict without '
            f'tensors (keys: {_key_list(keys)})')
    return checkpoint


def state_dict_of(checkpoint: Dict) -> OrderedDict:
    """The tensors of a checkpoint, without DataParallel's ``module.``.

    Args:
        checkpoint (dict): A Runner checkpoint or a state dict.

    Returns:
        OrderedDict: The state dict (its ``_metadata`` kept).
    """
    source = checkpoint.get('state_dict', checkpoint)
    state_dict = OrderedDict((re.sub(r'^module\.', '', key), value)
                             for key, value in source.items())
    metadata = getattr(source, '_metadata', None)
    if metadata is not None:
        state_dict._metadata = metadata
    return state_dict


def _shape(value) -> Optional[Tuple[int, ...]]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _under(state_dict: Dict, prefix: str) -> Dict:
    return {
        key[len(prefix):]: value
        for key, value in state_dict.items() if key.startswith(prefix)
    }


def describe_state_dict(state_dict: Dict) -> str:
    """What a state dict holds, in words, for error messages.

    Recognizes the recognizers of this project (3D MobileNet, Inception I3D,
    3D ResNet), MMRazor's distillation and quantization-aware training
    models wrapping them, and the released layouts ``tools/convert_ckpt.py``
    converts; anything else is described by its first keys.

    Args:
        state_dict (dict): Tensor names -> tensors.

    Returns:
        str: E.g. ``'an Inception I3D recognizer state dict (344 tensors, a
        34-class head: backbone.conv3d_1a_7x7.conv3d.weight, ...)'``.
    """
    state_dict = {
        re.sub(r'^module\.', '', key): value
        for key, value in state_dict.items() if isinstance(key, str)
    }
    keys = list(state_dict)
    if any(key.startswith('qmodels.') for key in keys):
        what = ('a quantization-aware training (MMArchitectureQuant) state '
                'dict of ' + _describe_part(_under(state_dict,
                                                   'architecture.')))
        if any(key.startswith('teacher.') for key in keys):
            what += (', with a distillation teacher, ' +
                     _describe_part(_under(state_dict, 'teacher.')))
        return f'{what} ({len(keys)} tensors)'
    if any(key.startswith('architecture.') for key in keys):
        student = _describe_part(_under(state_dict, 'architecture.'))
        if any(key.startswith('teacher.') for key in keys):
            teacher = _describe_part(_under(state_dict, 'teacher.'))
            return (f'a distillation (SingleTeacherDistill) state dict: '
                    f'student {student}, teacher {teacher} ({len(keys)} '
                    'tensors)')
        return f'an MMRazor algorithm state dict of {student}'
    return _describe_part(state_dict, ' state dict')


def _describe_part(state_dict: Dict, noun: str = '') -> str:
    keys = list(state_dict)
    name, hint = next(((what, hint) for key, what, hint in _LAYOUTS
                       if key in state_dict), (None, ''))
    details = [f'{len(keys)} tensors']
    head = next((state_dict[key] for key in _HEAD_WEIGHTS
                 if key in state_dict), None)
    if isinstance(head, torch.Tensor) and head.dim() >= 1:
        details.append(f'a {head.shape[0]}-class head')
    elif name is not None:
        details.append('no classifier')
    if name is None:
        name = 'an unknown model'
        details.append('keys ' + ', '.join(keys[:3]) +
                       (', ...' if len(keys) > 3 else ''))
    if hint:
        details.append(hint)
    return f'{name}{noun} ({", ".join(details)})'


def _prefix_hint(expected: Iterable[str], found: Iterable[str]) -> str:
    """A hint when one state dict holds the other under a prefix such as
    ``architecture.`` (a distillation or QAT checkpoint and its student)."""
    expected = [k for k in expected if not k.endswith(_OPTIONAL_KEYS)]
    found = [k for k in found if not k.endswith(_OPTIONAL_KEYS)]
    for inner, outer, hint in (
        (expected, found, 'the model is in it under {prefix!r}: a '
         'distillation or QAT checkpoint; extract a distilled student with '
         'tools/convert_kd_ckpt_to_student.py'),
        (found, expected, 'it fits the model\'s {prefix!r} part: a '
         'checkpoint of that part alone'),
    ):
        prefixes = {key.split('.', 1)[0] + '.' for key in outer if '.' in key}
        for prefix in sorted(prefixes):
            part = {key[len(prefix):] for key in outer
                    if key.startswith(prefix)}
            if inner and set(inner) <= part:
                return '; ' + hint.format(prefix=prefix)
    return ''


def check_state_dict(model: nn.Module,
                     state_dict: Dict,
                     filename: str,
                     description: str = 'checkpoint',
                     allow_missing: Sequence[str] = ()) -> List[str]:
    """Refuse a state dict that does not fit ``model``, before loading it.

    Args:
        model (nn.Module): The model (or model wrapper) it is for.
        state_dict (dict): The tensors to load (see :func:`state_dict_of`).
        filename (str): Where they come from, for the message.
        description (str): What the checkpoint is for, for the message.
        allow_missing (Sequence[str]): Key prefixes of the model the state
            dict may lack, e.g. :data:`HEAD_PREFIXES`; only when it holds
            every other key. Defaults to ().

    Returns:
        list[str]: The model's keys the state dict lacks, allowed by
        ``allow_missing`` (BN's ``num_batches_tracked`` not counted).

    Raises:
        CheckpointMismatchError: Missing keys (beyond ``allow_missing``),
            unexpected keys or other shapes. The message names the file,
            what it holds, the model and the keys.
    """
    module = model.module if is_model_wrapper(model) else model
    expected = module.state_dict()
    missing = [
        key for key in expected
        if key not in state_dict and not key.endswith(_OPTIONAL_KEYS)
    ]
    unexpected = [key for key in state_dict if key not in expected]
    allowed = [key for key in missing if key.startswith(tuple(allow_missing))]
    if allowed and not unexpected and len(allowed) == len(missing):
        missing = []
    else:
        allowed = []
    # Parameters only: buffers such as the quantization observers' ranges
    # and scales take the loaded shape (their _load_from_state_dict resizes).
    parameters = dict(module.named_parameters())
    shapes = [(key, _shape(value), _shape(parameters[key]))
              for key, value in state_dict.items() if key in parameters
              and _shape(value) != _shape(parameters[key])]
    if not (missing or unexpected or shapes):
        return allowed
    name = type(module).__name__
    lines = [
        f'{description} {filename} does not match the {name} it is loaded '
        f'into: it holds {describe_state_dict(state_dict)}, the model is '
        f'{describe_state_dict(expected)}' +
        (_prefix_hint(expected, state_dict) if missing else '') + ':'
    ]
    if missing:
        lines.append(f'missing keys ({len(missing)}): {_key_list(missing)}')
    if unexpected:
        lines.append(f'unexpected keys ({len(unexpected)}): '
                     f'{_key_list(unexpected)}')
    if shapes:
        shown = [
            f'{key} {list(found)} in the checkpoint, {list(wanted)} in the '
            'model' for key, found, wanted in shapes[:_KEYS_SHOWN]
        ]
        more = len(shapes) - _KEYS_SHOWN
        lines.append(f'other shapes ({len(shapes)}, another width_mult or '
                     'class count?): ' + '; '.join(shown) +
                     (f'; ... ({more} more)' if more > 0 else ''))
    raise CheckpointMismatchError('\n  '.join(lines))


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           description: str = 'checkpoint',
                           map_location: str = 'cpu',
                           allow_missing: Sequence[str] = ()) -> Dict:
    """Load ``filename`` into ``model``; every key and shape must match.

    Args:
        model (nn.Module): The model (or model wrapper) to load into.
        filename (str): The checkpoint (a Runner checkpoint or a state dict).
        description (str): What the checkpoint is, for the messages, e.g.
            ``'teacher checkpoint'``. Defaults to ``'checkpoint'``.
        map_location (str): Where to load the tensors. Defaults to ``'cpu'``.
        allow_missing (Sequence[str]): See :func:`check_state_dict`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CheckpointError: ``filename`` is not a readable checkpoint (see
            :func:`read_checkpoint`).
        CheckpointMismatchError: The checkpoint lacks keys of the model, has
            keys the model does not, or tensors of other shapes.
    """
    checkpoint = read_checkpoint(filename, description, map_location)
    state_dict = state_dict_of(checkpoint)
    kept = check_state_dict(model, state_dict, filename, description,
                            allow_missing)
    module = model.module if is_model_wrapper(model) else model
    try:
        module.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:  # a buffer of another shape
        raise CheckpointMismatchError(
            f'{description} {filename} does not match the '
            f'{type(module).__name__} it is loaded into: {error}') from None
    print_log(f'loaded {description} {filename}', logger='current')
    if kept:
        print_log(
            f'{description} {filename} has no {_key_list(kept)}: they keep '
            'their initialisation', logger='current', level=logging.WARNING)
    return checkpoint


def check_training_state(checkpoint: Dict, filename: str) -> None:
    """Refuse to resume from a checkpoint without a Runner's training state.

    Args:
        checkpoint (dict): The loaded checkpoint.
        filename (str): Its file, for the message.

    Raises:
        CheckpointError: It has no ``meta`` with ``epoch`` and ``iter`` (a
            bare or converted state dict).
    """
    meta = checkpoint.get('meta')
    if isinstance(meta, dict) and 'epoch' in meta and 'iter' in meta:
        return
    raise CheckpointError(
        f'cannot resume from {filename}: it holds '
        f'{describe_state_dict(state_dict_of(checkpoint))} without the '
        'training state a checkpoint of tools/train.py has (meta epoch and '
        "iter, optimizer, message hub). To start from these weights, pass "
        f'--cfg-options load_from={filename} instead of --resume')


# --- the checkpoint to resume in a work dir ---------------------------------
def _readable(filename: str) -> Optional[str]:
    """None if ``filename`` reads as a checkpoint, else why not."""
    try:
        read_checkpoint(filename)
    except (CheckpointError, FileNotFoundError) as error:
        return str(error)
    return None


def _numbered_checkpoints(directory: str) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` of ``directory``, newest first."""
    if not osp.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _NUMBERED_CHECKPOINT.fullmatch(name)
        path = osp.join(directory, name)
        if match and osp.isfile(path):
            found.append((int(match[2]), osp.getmtime(path), path))
    return [path for _, _, path in sorted(found, reverse=True)]


def recorded_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names, resolved for
    this work dir.

    MMEngine records the absolute path. A relative path is taken relative to
    the work dir; an absolute one outside it (the work dir was moved or
    copied) is replaced by the work dir's file of that name, if there is one.

    Args:
        work_dir (str): The work dir.

    Returns:
        str, optional: The checkpoint, or None if ``last_checkpoint`` is
        missing or empty.
    """
    record = osp.join(work_dir, _LAST_CHECKPOINT)
    if not osp.isfile(record):
        return None
    with open(record, encoding='utf-8', errors='replace') as f:
        recorded = f.read().strip()
    if not recorded:
        return None
    if not _is_local(recorded):
        return recorded
    if not osp.isabs(recorded):
        return osp.normpath(osp.join(work_dir, recorded))
    work_dir = osp.abspath(work_dir)
    if osp.dirname(recorded) == work_dir:
        return recorded
    local = osp.join(work_dir, osp.basename(recorded))
    if osp.isfile(local):
        print_log(
            f'{record} names {recorded}, outside this work dir (was it '
            f'moved or copied?): using the copy in this work dir, {local}',
            logger='current', level=logging.WARNING)
        return local
    return recorded


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` (without a path) continues from.

    The one ``last_checkpoint`` names (see :func:`recorded_checkpoint`) if it
    reads as a checkpoint; else the newest readable ``epoch_N.pth`` /
    ``iter_N.pth`` of the work dir, with a warning naming the unreadable
    one.

    Args:
        work_dir (str): The work dir.

    Returns:
        str, optional: The checkpoint, or None if the work dir has neither
        ``last_checkpoint`` nor a numbered checkpoint.

    Raises:
        CheckpointError: There are checkpoints, but none is readable; the
            message names each with what is wrong with it.
    """
    recorded = recorded_checkpoint(work_dir)
    problems = []
    if recorded is not None:
        problem = _readable(recorded) if _is_local(recorded) else None
        if problem is None:
            return recorded
        problems.append(problem)
    record = osp.join(work_dir, _LAST_CHECKPOINT)
    if recorded is None and osp.isfile(record):
        problems.append(f'{record} is empty')
    directories = [work_dir]
    if recorded is not None and _is_local(recorded):
        directories.append(osp.dirname(recorded))
    candidates = []
    for directory in directories:
        for path in _numbered_checkpoints(directory):
            if path not in candidates and path != recorded:
                candidates.append(path)
    for path in candidates:
        problem = _readable(path)
        if problem is None:
            if problems:
                print_log(
                    f'{"; ".join(problems)}. Resuming from {path}, the '
                    'newest readable checkpoint instead',
                    logger='current', level=logging.WARNING)
            return path
        problems.append(problem)
    if problems:
        raise CheckpointError(
            f'nothing readable to resume in {work_dir}:\n  ' +
            '\n  '.join(problems))
    return None


# --- pre-flight checks of tools/train.py -------------------------------------
def check_training_checkpoints(cfg: Config) -> None:
    """Refuse a training config whose checkpoints are missing or unreadable.

    Runs before the Runner is built, so nothing is written to the work dir.
    ``--resume`` without a path is resolved here: ``cfg.load_from`` is set
    to the checkpoint found (see :func:`find_resume_checkpoint`), or, when
    the work dir has none, ``cfg.resume`` is turned off with a warning.

    Args:
        cfg (Config): The training config (after the command line).

    Raises:
        FileNotFoundError: ``load_from``, the checkpoint to resume,
            ``model.teacher_ckpt`` or ``model.float_checkpoint`` names a
            file that does not exist.
        CheckpointError: One of them is not a readable checkpoint, or the
            checkpoint to resume has no training state.
        ValueError: A quantization-aware training config (its model has a
            ``float_checkpoint``) has none, and does not resume or load a
            checkpoint either: QAT would start from random weights.
    """
    model = cfg.get('model') or {}
    for key, description in _MODEL_CHECKPOINTS:
        filename = model.get(key)
        if filename and _is_local(filename):
            if not osp.isfile(filename):
                raise FileNotFoundError(
                    f'{description} not found: {filename} (model.{key}; set '
                    f'it with --cfg-options {key}=PATH)')
            read_checkpoint(filename, f'{description} (model.{key})')
    if cfg.get('resume') and not cfg.get('load_from'):
        found = find_resume_checkpoint(cfg.work_dir)
        if found is None:
            print_log(
                f'--resume: nothing to resume in {cfg.work_dir} (no '
                f'{_LAST_CHECKPOINT} and no epoch_N.pth / iter_N.pth): '
                'training starts from scratch',
                logger='current', level=logging.WARNING)
            cfg.resume = False
        else:
            cfg.load_from = found
    load_from = cfg.get('load_from')
    if load_from and _is_local(load_from):
        if cfg.get('resume'):
            check_training_state(
                read_checkpoint(load_from, 'checkpoint to resume'),
                load_from)
        else:
            read_checkpoint(load_from, 'load_from checkpoint')
    if 'float_checkpoint' in model and not model['float_checkpoint'] \
            and not load_from:
        raise ValueError(
            f'{model.get("type")} trains a quantized model from a float '
            'one, but float_checkpoint is None: quantization-aware training '
            'must start from the trained float student; pass --cfg-options '
            'float_checkpoint=PATH (or --resume / load_from a checkpoint of '
            'this quantized model)')

