from .apply import apply_patches, patch_report
from .patch import PATCHES, CompatPatch, register_patch

__all__ = [
    'CompatPatch', 'PATCHES', 'apply_patches', 'patch_report', 'register_patch'
]
