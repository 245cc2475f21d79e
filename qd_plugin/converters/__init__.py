from .efficient3dcnn import convert_efficient3dcnn_mobilenet
from .utils import unwrap_state_dict

__all__ = ['convert_efficient3dcnn_mobilenet', 'unwrap_state_dict']
