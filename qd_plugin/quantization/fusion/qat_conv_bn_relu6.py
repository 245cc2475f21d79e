import torch
import torch.ao.nn.intrinsic.qat as nniqat
import torch.nn.functional as F

from .conv_bn_relu6 import ConvBnReLU62d, ConvBnReLU63d


class _ReLU6Activation:
    """torch's QAT ``ConvBnReLU{2,3}d`` with ``relu6`` instead of ``relu``.

    BN is simulated as in torch's module and the output fake-quantize
    observes the clamped values, so its range lies within [0, 6].
    ``to_float()`` (inherited) folds BN into the convolution and returns
    torch's ``ConvReLU{2,3}d``: its int8 kernel saturates at the top of the
    output range, which is where ReLU6 clamped in the fake-quantized model,
    so the int8 model computes what QAT trained with one fused int8 kernel
    (x86: ``QuantizedConvReLU{2,3}d``).
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._forward(input))


class QATConvBnReLU62d(_ReLU6Activation, nniqat.ConvBnReLU2d):
    """Quantization-aware Conv2d + BatchNorm2d + ReLU6 (see
    :class:`_ReLU6Activation`)."""

    _FLOAT_MODULE = ConvBnReLU62d


class QATConvBnReLU63d(_ReLU6Activation, nniqat.ConvBnReLU3d):
    """Quantization-aware Conv3d + BatchNorm3d + ReLU6 (see
    :class:`_ReLU6Activation`)."""

    _FLOAT_MODULE = ConvBnReLU63d


#: What BN folding turns each into, as MMRazor's ``MERGE_BN_MAPPINGS``
#: (deployment with fake-quantized weights) needs it.
FOLDED_QAT_MODULES = {
    QATConvBnReLU62d: nniqat.ConvReLU2d,
    QATConvBnReLU63d: nniqat.ConvReLU3d,
}
