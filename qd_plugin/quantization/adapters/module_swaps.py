"""Swap modules ``torch.fx`` cannot trace for equivalents it can.

MMAction2's backbones build their layers through mmcv and mmengine, whose
wrappers are not traceable on recent PyTorch: mmcv's ``Conv2d``/``Conv3d``
(and the other wrappers of ``mmcv.cnn.bricks.wrappers``) branch on
``x.numel() == 0``, mmengine's ``SyncBatchNorm`` checks the input and the
process group, ``TemporalShift`` unpacks ``x.size()``. Each is replaced by a
plain module that computes the same and has the same state dict, so float
checkpoints load unchanged before or after the swap.
"""
from typing import Dict

import torch.nn as nn
from mmaction.models.backbones.resnet_tsm import TemporalShift
from mmcv.cnn.bricks import wrappers
from mmengine.model.utils import _BatchNormXd

from ...models.common import TraceableTemporalShift

#: mmcv's empty-tensor wrappers and the torch modules they wrap; a wrapper
#: only overrides ``forward``.
TORCH_TWINS = {
    wrappers.Conv2d: nn.Conv2d,
    wrappers.Conv3d: nn.Conv3d,
    wrappers.ConvTranspose2d: nn.ConvTranspose2d,
    wrappers.ConvTranspose3d: nn.ConvTranspose3d,
    wrappers.MaxPool2d: nn.MaxPool2d,
    wrappers.MaxPool3d: nn.MaxPool3d,
    wrappers.Linear: nn.Linear,
}

_BATCH_NORMS = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def _plain_batch_norm(module: nn.modules.batchnorm._BatchNorm,
                      dims: int) -> nn.modules.batchnorm._BatchNorm:
    """A ``BatchNorm{dims}d`` holding ``module``'s parameters and buffers."""
    batch_norm = _BATCH_NORMS[dims](module.num_features, module.eps,
                                    module.momentum, module.affine,
                                    module.track_running_stats)
    if module.affine:
        batch_norm.weight = module.weight
        batch_norm.bias = module.bias
    if module.track_running_stats:
        batch_norm.running_mean = module.running_mean
        batch_norm.running_var = module.running_var
        batch_norm.num_batches_tracked = module.num_batches_tracked
    batch_norm.train(module.training)
    return batch_norm


def _traceable_twin(module: nn.Module, batch_norm_dims: int) -> nn.Module:
    """The traceable replacement of ``module``, or None."""
    if isinstance(module, (nn.SyncBatchNorm, _BatchNormXd)):
        return _plain_batch_norm(module, batch_norm_dims)
    if type(module) is TemporalShift:
        return TraceableTemporalShift.from_temporal_shift(module)
    return None


def swap_untraceable_modules(model: nn.Module,
                             batch_norm_dims: int) -> Dict[str, str]:
    """Make ``model``'s layers traceable in place.

    - mmcv's wrappers (:data:`TORCH_TWINS`) become the torch classes they
      subclass. They only override ``forward``, so the module is re-classed
      in place: the same parameter objects (an optimizer holding them is
      unaffected), the same state dict.
    - ``SyncBatchNorm`` (torch's, mmengine's, as the configs' ``'SyncBN'``
      builds) and mmengine's ``_BatchNormXd`` become ``BatchNorm{dims}d``
      with the same parameters and statistics. MMRazor would turn them into
      ``BatchNorm2d``, which refuses the 5D inputs of 3D recognizers.
    - ``TemporalShift`` becomes :class:`TraceableTemporalShift` around the
      same ``net``.

    Args:
        model (nn.Module): Changed in place.
        batch_norm_dims (int): 2 for frame-wise (2D) recognizers, 3 for 3D
            ones.

    Returns:
        dict[str, str]: The swapped modules' names and ``'Old -> New'``.
    """
    if batch_norm_dims not in _BATCH_NORMS:
        raise ValueError('batch_norm_dims must be 1, 2 or 3, got '
                         f'{batch_norm_dims!r}')
    swapped = dict()
    for name, module in list(model.named_modules()):
        old = type(module).__name__
        torch_class = TORCH_TWINS.get(type(module))
        if torch_class is not None:
            module.__class__ = torch_class
            swapped[name] = f'{old} -> {torch_class.__name__}'
    # Children are replaced from the leaves up, so a replaced module's own
    # children (e.g. the net of a TemporalShift) are already swapped.
    for name, module in reversed(list(model.named_modules())):
        for child_name, child in list(module.named_children()):
            twin = _traceable_twin(child, batch_norm_dims)
            if twin is not None:
                setattr(module, child_name, twin)
                full_name = f'{name}.{child_name}' if name else child_name
                swapped[full_name] = \
                    f'{type(child).__name__} -> {type(twin).__name__}'
    return swapped
