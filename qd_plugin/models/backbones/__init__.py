from .mobilenet3d import MobileNet3D

__all__ = ['MobileNet3D']
