from .compat import apply_patches

# The compat layer must be in place before the upstream modules below are used.
apply_patches()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers)
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'apply_patches']
