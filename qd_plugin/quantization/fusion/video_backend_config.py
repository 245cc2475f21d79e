"""Backend-config patterns that MMAction2's recognizers need for int8.

MMRazor's backend configs (and torch's) leave parts of the stock video
recognizers in float or unfused:

- Conv + BN + ReLU6 (MobileNetV2, TSM-MobileNetV2) has no fusion pattern,
  so each convolution ends in an unfused ReLU6 whose quantization range
  includes the negative pre-activations.
- ``flatten``/``unflatten`` as tensor methods, slicing (``getitem``) and
  ``F.pad`` (the heads' reshapes, the temporal shift) and ``nn.ReLU6`` (in
  MMRazor's native config) are not known to share their input's
  quantization, so each gets a dequantize/quantize pair: float islands.

:func:`video_backend_config` adds them to a copy of a backend config:
Conv + BN + ReLU6 fuses into :class:`QATConvBnReLU62d` /
:class:`QATConvBnReLU63d`, which lower to torch's int8 ``ConvReLU2d`` /
``ConvReLU3d`` (x86 has no other int8 kernel for it, and with the range
observed after the clamp it is the same), and the shape ops pass quantized
tensors through. Swish (``x * sigmoid(x)``) and squeeze-excitation need no
pattern: ``sigmoid`` and ``mul`` have int8 kernels on x86.
"""
import operator
from typing import Callable, List, Optional

import torch
import torch.ao.nn.quantized.reference as nnqr
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization.backend_config import (BackendConfig,
                                                  BackendPatternConfig,
                                                  DTypeConfig,
                                                  ObservationType)

from .conv_bn_relu6 import ConvBnReLU62d, ConvBnReLU63d
from .qat_conv_bn_relu6 import (FOLDED_QAT_MODULES, QATConvBnReLU62d,
                                QATConvBnReLU63d)

#: Ops that run on quantized tensors and keep their input's quantization.
SHARE_QPARAMS_OPS = ('flatten', 'unflatten', operator.getitem, F.pad,
                     nn.ReLU6)

#: (conv, bn, fused float module, QAT module, int8 reference conv).
_CONV_BN_RELU6 = (
    (nn.Conv2d, nn.BatchNorm2d, ConvBnReLU62d, QATConvBnReLU62d,
     nnqr.Conv2d),
    (nn.Conv3d, nn.BatchNorm3d, ConvBnReLU63d, QATConvBnReLU63d,
     nnqr.Conv3d),
)


def _pattern_of(config: BackendPatternConfig):
    if config.pattern is not None:
        return config.pattern
    return config._pattern_complex_format


def _dtype_configs_of(backend_config: BackendConfig,
                      pattern) -> Optional[List[DTypeConfig]]:
    for config in backend_config.configs:
        if _pattern_of(config) == pattern:
            return config.dtype_configs
    return None


def _fuse_conv_bn_relu6(fused_module: type) -> Callable:

    def fuse(is_qat: bool, conv: nn.Module, bn: nn.Module,
             relu6: nn.Module) -> nn.Module:
        if not is_qat:
            raise NotImplementedError(
                'Conv + BN + ReLU6 is fused for quantization-aware training '
                'only')
        return fused_module(conv, bn, relu6)

    return fuse


def _conv_bn_relu6_configs(dtype_configs: List[DTypeConfig]
                           ) -> List[BackendPatternConfig]:
    observation_type = ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT
    configs = []
    for conv, bn, fused, qat, reference in _CONV_BN_RELU6:
        configs += [
            BackendPatternConfig((conv, bn, nn.ReLU6))
            .set_dtype_configs(dtype_configs)
            .set_fuser_method(_fuse_conv_bn_relu6(fused))
            .set_fused_module(fused),
            BackendPatternConfig(fused)
            .set_observation_type(observation_type)
            .set_dtype_configs(dtype_configs)
            .set_root_module(conv)
            .set_reference_quantized_module(reference)
            .set_qat_module(qat),
            BackendPatternConfig(qat)
            .set_observation_type(observation_type)
            .set_dtype_configs(dtype_configs)
            .set_root_module(conv)
            .set_reference_quantized_module(reference),
        ]
    return configs


def _register_bn_folding() -> None:
    """Tell MMRazor's deployment (``post_process_for_deploy``) what the QAT
    Conv + BN + ReLU6 modules become once BN is folded."""
    from mmrazor.models.quantizers import native_quantizer
    native_quantizer.MERGE_BN_MAPPINGS.update(FOLDED_QAT_MODULES)


def video_backend_config(backend_config: BackendConfig) -> BackendConfig:
    """A copy of ``backend_config`` with the patterns of this module.

    Patterns the backend config already has are kept as they are. The
    Conv + BN + ReLU6 fusion takes the dtype configs of the backend's
    ``Conv2d`` pattern, the shape ops those of ``torch.flatten``; a backend
    without one of them gets no patterns of that kind.

    Args:
        backend_config (BackendConfig): E.g. a quantizer's
            ``backend_config``; not changed.

    Returns:
        BackendConfig: The extended copy, named like the original.
    """
    configs = backend_config.configs
    existing = {_pattern_of(config) for config in configs}
    added: List[BackendPatternConfig] = []
    share_dtypes = _dtype_configs_of(backend_config, torch.flatten)
    if share_dtypes is not None:
        added += [
            BackendPatternConfig(op).set_observation_type(
                ObservationType.OUTPUT_SHARE_OBSERVER_WITH_INPUT)
            .set_dtype_configs(share_dtypes) for op in SHARE_QPARAMS_OPS
            if op not in existing
        ]
    conv_dtypes = _dtype_configs_of(backend_config, nn.Conv2d)
    if conv_dtypes is not None:
        added += _conv_bn_relu6_configs(conv_dtypes)
        _register_bn_folding()
    extended = BackendConfig(backend_config.name)
    extended.set_backend_pattern_configs(configs + added)
    extended.video_patterns = tuple(_pattern_of(c) for c in added)
    return extended
