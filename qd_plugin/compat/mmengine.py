"""Patches for mmengine 0.10.7 on recent PyTorch."""
import io

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
