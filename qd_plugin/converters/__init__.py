from .efficient3dcnn import convert_efficient3dcnn_mobilenet
from .kinetics_i3d_pytorch import convert_kinetics_i3d_pytorch
from .utils import unwrap_state_dict

__all__ = [
    'convert_efficient3dcnn_mobilenet', 'convert_kinetics_i3d_pytorch',
    'unwrap_state_dict'
]
