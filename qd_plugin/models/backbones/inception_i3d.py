"""Inception I3D (Carreira & Zisserman, 2017) with the module layout of the
``kinetics_i3d_pytorch`` port, so that its released weights load unchanged."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS

_Triple = Tuple[int, int, int]

# TensorFlow's BatchNorm epsilon, which the port (and the original I3D) uses.
_BN_EPS = 1e-3

# (input channels, [b0, b1 reduce, b1, b2 reduce, b2, b3 pool proj])
_MIXED_CFGS: Dict[str, Tuple[int, Sequence[int]]] = {
    'mixed_3b': (192, (64, 96, 128, 16, 32, 32)),
    'mixed_3c': (256, (128, 128, 192, 32, 96, 64)),
    'mixed_4b': (480, (192, 96, 208, 16, 48, 64)),
    'mixed_4c': (512, (160, 112, 224, 24, 64, 64)),
    'mixed_4d': (512, (128, 128, 256, 24, 64, 64)),
    'mixed_4e': (512, (112, 144, 288, 32, 64, 64)),
    'mixed_4f': (528, (256, 160, 320, 32, 128, 128)),
    'mixed_5b': (832, (256, 160, 320, 32, 128, 128)),
    'mixed_5c': (832, (384, 192, 384, 48, 128, 128)),
}

# Module names of each stage, in forward order (pools carry no weights).
_STAGES: Tuple[Tuple[str, ...], ...] = (
    ('conv3d_1a_7x7', 'maxPool3d_2a_3x3'),
    ('conv3d_2b_1x1', 'conv3d_2c_3x3', 'maxPool3d_3a_3x3'),
    ('mixed_3b', 'mixed_3c', 'maxPool3d_4a_3x3'),
    ('mixed_4b', 'mixed_4c', 'mixed_4d', 'mixed_4e', 'mixed_4f',
     'maxPool3d_5a_2x2'),
    ('mixed_5b', 'mixed_5c'),
)


def _same_padding(kernel_size: _Triple, stride: _Triple,
                  t_mod: int = 0) -> Tuple[int, ...]:
    """TF-'SAME'-style padding of the port, in ``nn.ConstantPad3d`` order.

    Each dimension is padded by ``max(k - s, 0)``, split floor before / ceil
    after. For the temporal dimension only, ``t_mod`` (the input length
    modulo a temporal stride > 1, when non-zero) replaces the stride, as the
    port does to match TensorFlow on odd clip lengths.
    """
    pads = []
    for dim, (k, s) in enumerate(zip(kernel_size, stride)):
        total = max(k - (t_mod if dim == 0 and t_mod else s), 0)
        pads.append((total // 2, total - total // 2))
    (t0, t1), (h0, h1), (w0, w1) = pads
    return (w0, w1, h0, h1, t0, t1)


class _Unit3D(nn.Module):
    """Conv3d (no bias, 'SAME' padding) + BatchNorm3d + ReLU.

    Submodule names ``conv3d`` / ``batch3d`` follow the port.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: _Triple = (1, 1, 1),
                 stride: _Triple = (1, 1, 1)) -> None:
        super().__init__()
        self.t_stride = stride[0]
        # One padding per value of T % t_stride (a single one when t_stride
        # is 1): the port selects it from the input length at runtime.
        pads = [
            _same_padding(kernel_size, stride, mod)
            for mod in range(self.t_stride)
        ]
        conv_padding = (0, 0, 0)
        if len(pads) == 1 and all(p == pads[0][0] for p in pads[0]):
            # Symmetric padding: let the convolution do it (same result).
            conv_padding = (pads[0][4], pads[0][2], pads[0][0])
            self.pads = None
        else:
            self.pads = nn.ModuleList(nn.ConstantPad3d(p, 0.) for p in pads)
        self.conv3d = nn.Conv3d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=conv_padding,
            bias=False)
        self.batch3d = nn.BatchNorm3d(out_channels, eps=_BN_EPS)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad, convolve, normalise and rectify ``x``."""
        if self.pads is not None:
            x = self.pads[x.shape[2] % self.t_stride](x)
        return self.relu(self.batch3d(self.conv3d(x)))


class _MaxPool3dSame(nn.Module):
    """Zero 'SAME' padding then ``MaxPool3d`` with ``ceil_mode=True``."""

    def __init__(self, kernel_size: _Triple, stride: _Triple) -> None:
        super().__init__()
        self.pad = nn.ConstantPad3d(_same_padding(kernel_size, stride), 0.)
        self.pool = nn.MaxPool3d(kernel_size, stride, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad and pool ``x``."""
        return self.pool(self.pad(x))


class _Mixed(nn.Module):
    """Inception block: four branches concatenated on channels."""

    def __init__(self, in_channels: int, out_channels: Sequence[int]) -> None:
        super().__init__()
        c0, c1r, c1, c2r, c2, c3 = out_channels
        self.branch_0 = _Unit3D(in_channels, c0)
        self.branch_1 = nn.Sequential(
            _Unit3D(in_channels, c1r), _Unit3D(c1r, c1, (3, 3, 3)))
        self.branch_2 = nn.Sequential(
            _Unit3D(in_channels, c2r), _Unit3D(c2r, c2, (3, 3, 3)))
        self.branch_3 = nn.Sequential(
            _MaxPool3dSame((3, 3, 3), (1, 1, 1)), _Unit3D(in_channels, c3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the branches on ``x`` and concatenate them."""
        return torch.cat((self.branch_0(x), self.branch_1(x),
                          self.branch_2(x), self.branch_3(x)), 1)


@MODELS.register_module()
class InceptionI3D(BaseModule):
    """Inception I3D backbone, laid out like the ``kinetics_i3d_pytorch``
    port (``src/i3dpt.py``) of Carreira & Zisserman's
    `Quo Vadis, Action Recognition? <https://arxiv.org/abs/1705.07750>`_.

    Module names match the port, so its state dict minus the
    ``conv3d_0c_1x1`` classifier loads into this backbone unchanged (see
    ``qd_plugin.converters.kinetics_i3d_pytorch``). Convolutions and
    max-pools use the port's static TF-'SAME'-style zero padding
    (``max(k - s, 0)`` per dimension, floor before / ceil after; max-pools
    with ``ceil_mode=True``). As in the port, the strided stem convolution
    pads an odd-length clip by ``k - 1`` in time instead. BatchNorm uses
    TensorFlow's ``eps=1e-3``. The classifier is not part of the backbone:
    pair it with ``I3DHead(in_channels=1024)``.

    Args:
        in_channels (int): Channels of the input clip (3 for RGB, 2 for
            optical flow). Defaults to 3.
        frozen_stages (int): Stages to freeze (eval mode, no gradients),
            ``-1`` for none. Stage 0 is ``conv3d_1a_7x7``; 1 is
            ``conv3d_2b_1x1`` and ``conv3d_2c_3x3``; 2 is ``mixed_3b/3c``;
            3 is ``mixed_4b``-``mixed_4f``; 4 is ``mixed_5b/5c``.
            Defaults to -1.
        norm_eval (bool): Keep the BatchNorm layers in eval mode (frozen
            running statistics) while training. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to Kaiming for ``Conv3d`` and constant 1 for
            ``BatchNorm3d``.

    Example:
        >>> model = InceptionI3D()
        >>> model(torch.rand(1, 3, 16, 224, 224)).shape
        torch.Size([1, 1024, 2, 7, 7])
    """

    def __init__(self,
                 in_channels: int = 3,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv3d'),
                dict(type='Constant', layer='BatchNorm3d', val=1.),
            ]
        super().__init__(init_cfg=init_cfg)
        if not -1 <= frozen_stages < len(_STAGES):
            raise ValueError(f'frozen_stages must be in [-1, {len(_STAGES) - 1}]'
                             f', got {frozen_stages}')
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_channels = 1024

        self.conv3d_1a_7x7 = _Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))
        self.maxPool3d_2a_3x3 = _MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.conv3d_2b_1x1 = _Unit3D(64, 64)
        self.conv3d_2c_3x3 = _Unit3D(64, 192, (3, 3, 3))
        self.maxPool3d_3a_3x3 = _MaxPool3dSame((1, 3, 3), (1, 2, 2))
        for name in ('mixed_3b', 'mixed_3c'):
            self.add_module(name, _Mixed(*_MIXED_CFGS[name]))
        self.maxPool3d_4a_3x3 = _MaxPool3dSame((3, 3, 3), (2, 2, 2))
        for name in ('mixed_4b', 'mixed_4c', 'mixed_4d', 'mixed_4e',
                     'mixed_4f'):
            self.add_module(name, _Mixed(*_MIXED_CFGS[name]))
        self.maxPool3d_5a_2x2 = _MaxPool3dSame((2, 2, 2), (2, 2, 2))
        for name in ('mixed_5b', 'mixed_5c'):
            self.add_module(name, _Mixed(*_MIXED_CFGS[name]))

        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Extract features.

        Args:
            x (torch.Tensor): Clips of shape (N, C, T, H, W).

        Returns:
            torch.Tensor: The ``mixed_5c`` feature map of shape
            (N, 1024, T', H', W'), e.g. T' = T / 8, H' = H / 32 for clip
            sizes divisible by those.
        """
        for stage in _STAGES:
            for name in stage:
                x = getattr(self, name)(x)
        return x

    def _freeze_stages(self) -> None:
        """Put stages up to ``frozen_stages`` in eval mode, without grads."""
        for stage in _STAGES[:self.frozen_stages + 1]:
            for name in stage:
                module = getattr(self, name)
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'InceptionI3D':
        """Set train/eval mode, keeping frozen stages (and, with
        ``norm_eval``, every BatchNorm) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
