"""Efficient-3DCNNs 3D MobileNet checkpoints -> MMAction2 ``Recognizer3D``."""
import re
from typing import Dict

import torch

from .utils import unwrap_state_dict

_STEM = re.compile(r'features\.0\.([01])\.(.+)')
_BLOCK = re.compile(r'features\.(\d+)\.(conv|bn)([12])\.(.+)')
_CLASSIFIER = re.compile(r'classifier\.1\.(weight|bias)')


def _map_key(key: str) -> str:
    match = _STEM.fullmatch(key)
    if match:
        module = 'conv' if match[1] == '0' else 'bn'
        return f'backbone.stem.{module}.{match[2]}'
    match = _BLOCK.fullmatch(key)
    if match:
        part = 'depthwise' if match[3] == '1' else 'pointwise'
        return (f'backbone.layers.{int(match[1]) - 1}.{part}.'
                f'{match[2]}.{match[4]}')
    match = _CLASSIFIER.fullmatch(key)
    if match:
        return f'cls_head.fc_cls.{match[1]}'
    raise KeyError(f'unexpected key in Efficient-3DCNNs checkpoint: {key!r}')


def convert_efficient3dcnn_mobilenet(
        checkpoint: Dict,
        keep_classifier: bool = True) -> Dict[str, torch.Tensor]:
    """Map a released Efficient-3DCNNs MobileNet (v1) checkpoint to the keys
    of a ``Recognizer3D`` with a ``MobileNet3D`` backbone and ``I3DHead``.

    Args:
        checkpoint (dict): The loaded file: a dict with ``state_dict`` whose
            keys carry the ``module.`` prefix of DataParallel, or a plain
            state dict.
        keep_classifier (bool): Keep ``classifier.1`` as the head's
            ``fc_cls``. Drop it to fine-tune on a different class count.
            Defaults to True.

    Returns:
        dict[str, torch.Tensor]: The converted state dict.

    Raises:
        KeyError: A key that is not part of the Efficient-3DCNNs layout.
    """
    converted = {}
    for key, value in unwrap_state_dict(checkpoint).items():
        new_key = _map_key(key)
        if new_key.startswith('cls_head.') and not keep_classifier:
            continue
        converted[new_key] = value
    return converted
