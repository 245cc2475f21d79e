from .compat import apply_patches

# The compat layer must be in place before the upstream modules below are used.
apply_patches()

from . import datasets, engine, evaluation, models, quantization  # noqa: E402,F401,E501
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'apply_patches']
