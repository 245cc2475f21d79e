from .module_swaps import TORCH_TWINS, swap_untraceable_modules
from .traceable_config import (TRACEABLE_HEADS, TRACEABLE_RECOGNIZERS,
                               traceable_recognizer_cfg)
from .traceable_recognizer import (traceable_recognizer,
                                   with_head_skipped_methods)

__all__ = [
    'TORCH_TWINS', 'TRACEABLE_HEADS', 'TRACEABLE_RECOGNIZERS',
    'swap_untraceable_modules', 'traceable_recognizer',
    'traceable_recognizer_cfg', 'with_head_skipped_methods'
]
