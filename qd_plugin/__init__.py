from .compat import apply_patches

# The compat layer must be in place before the upstream modules below are used.
apply_patches()

from . import datasets, engine, evaluation, models, quantization  # noqa: E402,F401,E501
from .utils import register_config_scope  # noqa: E402
from .version import __version__  # noqa: E402

register_config_scope()  # `_base_ = 'qd_plugin::<config>'`

__all__ = ['__version__', 'apply_patches']
