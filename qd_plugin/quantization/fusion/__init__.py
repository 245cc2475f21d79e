from .conv_bn_relu6 import ConvBnReLU62d, ConvBnReLU63d
from .qat_conv_bn_relu6 import QATConvBnReLU62d, QATConvBnReLU63d
from .shared_qparams_lowering import lower_shared_qparams_ops
from .video_backend_config import SHARE_QPARAMS_OPS, video_backend_config

__all__ = [
    'ConvBnReLU62d', 'ConvBnReLU63d', 'QATConvBnReLU62d', 'QATConvBnReLU63d',
    'SHARE_QPARAMS_OPS', 'lower_shared_qparams_ops', 'video_backend_config'
]
