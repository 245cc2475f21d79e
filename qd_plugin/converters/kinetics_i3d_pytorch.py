"""kinetics_i3d_pytorch (Inception I3D port) checkpoints -> MMAction2
``Recognizer3D`` with an ``InceptionI3D`` backbone and ``I3DHead``."""
from typing import Dict, List

import torch

from .utils import unwrap_state_dict

_STEM_UNITS = ('conv3d_1a_7x7', 'conv3d_2b_1x1', 'conv3d_2c_3x3')
_MIXED_BLOCKS = ('mixed_3b', 'mixed_3c', 'mixed_4b', 'mixed_4c', 'mixed_4d',
                 'mixed_4e', 'mixed_4f', 'mixed_5b', 'mixed_5c')
_MIXED_UNITS = ('branch_0', 'branch_1.0', 'branch_1.1', 'branch_2.0',
                'branch_2.1', 'branch_3.1')
_UNIT_TENSORS = ('conv3d.weight', 'batch3d.weight', 'batch3d.bias',
                 'batch3d.running_mean', 'batch3d.running_var',
                 'batch3d.num_batches_tracked')
# Absent from checkpoints saved before PyTorch 0.4.1 (the released one).
_OPTIONAL_SUFFIX = '.batch3d.num_batches_tracked'

_HEAD_WEIGHT = 'conv3d_0c_1x1.conv3d.weight'
_HEAD_BIAS = 'conv3d_0c_1x1.conv3d.bias'
_HEAD_KEYS = {
    _HEAD_WEIGHT: 'cls_head.fc_cls.weight',
    _HEAD_BIAS: 'cls_head.fc_cls.bias',
}


def _backbone_keys() -> List[str]:
    units = list(_STEM_UNITS) + [
        f'{block}.{unit}' for block in _MIXED_BLOCKS for unit in _MIXED_UNITS
    ]
    return [f'{unit}.{tensor}' for unit in units for tensor in _UNIT_TENSORS]


_BACKBONE_KEYS = _backbone_keys()


def convert_kinetics_i3d_pytorch(
        state_dict: Dict,
        keep_classifier: bool = True) -> Dict[str, torch.Tensor]:
    """Map a kinetics_i3d_pytorch I3D state dict (e.g. ``model_rgb.pth``)
    to the keys of a ``Recognizer3D`` with an ``InceptionI3D`` backbone and
    an ``I3DHead``.

    Backbone tensors keep their names under ``backbone.``. The port's
    classifier, a 1x1x1 convolution with bias applied after the average
    pool, becomes the head's linear layer: ``conv3d_0c_1x1.conv3d.weight``
    (C, 1024, 1, 1, 1) -> ``cls_head.fc_cls.weight`` (C, 1024) and its bias
    -> ``cls_head.fc_cls.bias``. BatchNorm ``num_batches_tracked`` counters
    missing from old checkpoints are filled with 0.

    Args:
        state_dict (dict): The port's state dict; it may be wrapped in
            ``{'state_dict': ...}`` and its keys may carry the ``module.``
            prefix of DataParallel.
        keep_classifier (bool): Keep ``conv3d_0c_1x1`` as the head's
            ``fc_cls``. Drop it to fine-tune on a different class count.
            Defaults to True.

    Returns:
        dict[str, torch.Tensor]: The converted state dict, in the port's
        order.

    Raises:
        KeyError: A key that is not part of the port's layout, or a tensor
            of the layout that is missing.
        ValueError: A classifier weight that is not (C, 1024, 1, 1, 1).
    """
    source = unwrap_state_dict(state_dict)
    known = set(_BACKBONE_KEYS) | set(_HEAD_KEYS)
    for key in source:
        if key not in known:
            raise KeyError(
                f'unexpected key in kinetics_i3d_pytorch checkpoint: {key!r}')

    required = [
        key for key in _BACKBONE_KEYS if not key.endswith(_OPTIONAL_SUFFIX)
    ]
    if keep_classifier:
        required += list(_HEAD_KEYS)
    missing = [key for key in required if key not in source]
    if missing:
        raise KeyError('kinetics_i3d_pytorch checkpoint lacks '
                       f'{len(missing)} tensors: {missing}')

    converted = {}
    for key in _BACKBONE_KEYS:
        if key in source:
            converted[f'backbone.{key}'] = source[key]
        else:  # num_batches_tracked of a pre-0.4.1 checkpoint
            converted[f'backbone.{key}'] = torch.tensor(0, dtype=torch.long)
    if keep_classifier:
        weight = source[_HEAD_WEIGHT]
        if weight.dim() != 5 or tuple(weight.shape[1:]) != (1024, 1, 1, 1):
            raise ValueError(f'{_HEAD_WEIGHT} must be (C, 1024, 1, 1, 1), got '
                             f'{tuple(weight.shape)}')
        converted[_HEAD_KEYS[_HEAD_WEIGHT]] = weight.reshape(
            weight.shape[0], 1024)
        converted[_HEAD_KEYS[_HEAD_BIAS]] = source[_HEAD_BIAS]
    return converted
