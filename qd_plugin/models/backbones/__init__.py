from .inception_i3d import InceptionI3D
from .mobilenet3d import MobileNet3D

__all__ = ['InceptionI3D', 'MobileNet3D']
