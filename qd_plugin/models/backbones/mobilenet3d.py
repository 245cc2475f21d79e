from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from mmaction.registry import MODELS

Triple = Tuple[int, int, int]


def _conv_bn_relu(in_channels: int,
                  out_channels: int,
                  kernel_size: int,
                  stride: Triple = (1, 1, 1),
                  groups: int = 1) -> nn.Sequential:
    """Conv3d + BatchNorm3d + ReLU as plain modules, in the order the
    quantization fuser expects (``ConvBnReLU3d``)."""
    return nn.Sequential(
        OrderedDict(
            conv=nn.Conv3d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                groups=groups,
                bias=False),
            bn=nn.BatchNorm3d(out_channels),
            relu=nn.ReLU()))


def _depthwise_separable(in_channels: int, out_channels: int,
                         stride: Triple) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            depthwise=_conv_bn_relu(
                in_channels, in_channels, 3, stride, groups=in_channels),
            pointwise=_conv_bn_relu(in_channels, out_channels, 1)))


@MODELS.register_module()
class MobileNet3D(BaseModule):
    """3D MobileNet v1 backbone, as in Efficient-3DCNNs.

    A 3x3x3 stem with stride (1, 2, 2), then 13 depthwise-separable blocks
    (depthwise 3x3x3 Conv3d + BN + ReLU, pointwise 1x1x1 Conv3d + BN + ReLU).
    The output is the last feature map; pooling and classification are the
    head's job (e.g. ``I3DHead``).

    `Efficient-3DCNNs <https://arxiv.org/abs/1904.02422>`_

    Args:
        width_mult (float): Multiplier of every layer's channels.
            Defaults to 1.0.
        in_channels (int): Channels of the input clip. Defaults to 3.
        norm_eval (bool): Keep BN layers in eval mode (frozen statistics)
            during training. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to Kaiming (fan-in) for convolutions and ones for BN.
            Fan-in, since the fan-out of a depthwise conv counts every
            channel while each output sees only its own 27 inputs: with it
            activations would shrink ~sqrt(C) times per block.
    """

    stem_channels = 32
    # (output channels, blocks, stride of the first block)
    arch_settings: Sequence[Tuple[int, int, Triple]] = (
        (64, 1, (2, 2, 2)),
        (128, 2, (2, 2, 2)),
        (256, 2, (2, 2, 2)),
        (512, 6, (2, 2, 2)),
        (1024, 2, (1, 1, 1)),
    )

    def __init__(
        self,
        width_mult: float = 1.0,
        in_channels: int = 3,
        norm_eval: bool = False,
        init_cfg: Optional[Union[Dict, List[Dict]]] = [
            dict(type='Kaiming', layer='Conv3d', mode='fan_in'),
            dict(type='Constant', layer='BatchNorm3d', val=1.)
        ]
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.width_mult = width_mult
        self.norm_eval = norm_eval

        channels = int(self.stem_channels * width_mult)
        self.stem = _conv_bn_relu(in_channels, channels, 3, (1, 2, 2))
        blocks = []
        for stage_channels, num_blocks, stride in self.arch_settings:
            out_channels = int(stage_channels * width_mult)
            for i in range(num_blocks):
                blocks.append(
                    _depthwise_separable(channels, out_channels,
                                         stride if i == 0 else (1, 1, 1)))
                channels = out_channels
        self.layers = nn.Sequential(*blocks)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Defines the computation performed at every call.

        Args:
            x (torch.Tensor): The input clips, (N, C, T, H, W).

        Returns:
            torch.Tensor: The feature map, (N, 1024 * width_mult, T / 16,
            H / 32, W / 32) rounded up.
        """
        return self.layers(self.stem(x))

    def train(self, mode: bool = True) -> 'MobileNet3D':
        """Set the training mode, keeping BN in eval if ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
