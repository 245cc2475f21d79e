import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.models.backbones.resnet_tsm import TemporalShift


def _in_channels(net: nn.Module) -> int:
    """Input channels of the first convolution of ``net``."""
    for module in net.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            return module.in_channels
    raise ValueError('TraceableTemporalShift needs a net with a convolution '
                     f'to know its channels; got {type(net).__name__}')


class TraceableTemporalShift(TemporalShift):
    """:class:`TemporalShift` that ``torch.fx`` traces and that stays
    quantized.

    ``TemporalShift.shift`` unpacks ``x.size()`` (not traceable) and makes
    its zero frames as ``x - x``, a subtraction that has no int8 kernel, so
    the shift would run in float between a dequantize and a quantize. Here
    the shift is slicing, zero padding and concatenation along the segment
    axis, which run on quantized tensors (the zeros are the exact zero point
    of the input's quantization), with the channel split taken from the
    wrapped ``net``'s first convolution. Outputs equal ``TemporalShift``'s;
    the module holds only ``net`` (same state-dict keys).

    Args:
        net (nn.Module): The module run after the shift.
        num_segments (int): Frames per clip. Defaults to 3.
        shift_div (int): A ``1 / shift_div`` of the channels is shifted each
            way. Defaults to 8.
    """

    def __init__(self,
                 net: nn.Module,
                 num_segments: int = 3,
                 shift_div: int = 8) -> None:
        super().__init__(net, num_segments=num_segments, shift_div=shift_div)
        self.fold = _in_channels(net) // shift_div

    @classmethod
    def from_temporal_shift(cls,
                            module: TemporalShift) -> 'TraceableTemporalShift':
        """The traceable twin of ``module``, around the same ``net``."""
        return cls(module.net, module.num_segments, module.shift_div)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shift a fold of the channels one frame back and one forward,
        then run ``net``.

        Args:
            x (torch.Tensor): Frames, (N * num_segments, C, H, W).

        Returns:
            torch.Tensor: ``net`` of the shifted frames.
        """
        fold = self.fold
        x = x.unflatten(0, (-1, self.num_segments))
        # F.pad pads the last axes first: (W, H, C, segments).
        back = F.pad(x[:, 1:, :fold], (0, 0, 0, 0, 0, 0, 0, 1))
        forth = F.pad(x[:, :-1, fold:2 * fold], (0, 0, 0, 0, 0, 0, 1, 0))
        x = torch.cat((back, forth, x[:, :, 2 * fold:]), dim=2)
        return self.net(x.flatten(0, 1))
