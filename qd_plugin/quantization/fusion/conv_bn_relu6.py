import torch.nn as nn
from torch.ao.nn.intrinsic import _FusedModule


def _check_types(fused: str, conv: nn.Module, bn: nn.Module,
                 relu6: nn.Module, conv_type: type, bn_type: type) -> None:
    if (type(conv), type(bn), type(relu6)) != (conv_type, bn_type, nn.ReLU6):
        raise TypeError(
            f'{fused} fuses {conv_type.__name__}, {bn_type.__name__} and '
            f'ReLU6; got {type(conv).__name__}, {type(bn).__name__}, '
            f'{type(relu6).__name__}')


class ConvBnReLU62d(_FusedModule):
    """Conv2d + BatchNorm2d + ReLU6, fused for quantization-aware training
    (:class:`~qd_plugin.quantization.fusion.QATConvBnReLU62d`)."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d,
                 relu6: nn.ReLU6) -> None:
        _check_types('ConvBnReLU62d', conv, bn, relu6, nn.Conv2d,
                     nn.BatchNorm2d)
        super().__init__(conv, bn, relu6)


class ConvBnReLU63d(_FusedModule):
    """Conv3d + BatchNorm3d + ReLU6, fused for quantization-aware training
    (:class:`~qd_plugin.quantization.fusion.QATConvBnReLU63d`)."""

    def __init__(self, conv: nn.Conv3d, bn: nn.BatchNorm3d,
                 relu6: nn.ReLU6) -> None:
        _check_types('ConvBnReLU63d', conv, bn, relu6, nn.Conv3d,
                     nn.BatchNorm3d)
        super().__init__(conv, bn, relu6)
