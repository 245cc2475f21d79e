"""Apply and report the compat patches of every installed upstream package."""
import importlib
import importlib.util
from typing import List, Optional, Sequence

from .patch import PATCHES, CompatPatch

# Compat modules in the order their patches must be applied; a module whose
# upstream package is not installed (e.g. the optional deploy extra) is skipped.
COMPAT_MODULES = (
    ('mmengine', 'qd_plugin.compat.mmengine'),
    ('mmrazor', 'qd_plugin.compat.mmrazor_fx'),
    ('mmrazor', 'qd_plugin.compat.mmrazor_onnx'),
    ('mmdeploy', 'qd_plugin.compat.mmdeploy'),
)


def _load_compat_modules() -> None:
    for package, module in COMPAT_MODULES:
        if importlib.util.find_spec(package) is not None:
            importlib.import_module(module)


def apply_patches(packages: Optional[Sequence[str]] = None) -> List[CompatPatch]:
    """Apply every registered patch whose defect is present.

    Args:
        packages (Sequence[str], optional): Only patch these upstream packages.
            Defaults to all installed ones.

    Returns:
        list[CompatPatch]: The patches applied by this call.
    """
    _load_compat_modules()
    return [
        patch for patch in PATCHES
        if (packages is None or patch.package in packages) and patch.apply()
    ]


def patch_report() -> str:
    """A table of every known patch: name, package, state and the defect."""
    _load_compat_modules()
    rows = [('patch', 'package', 'state', 'defect')]
    for patch in PATCHES:
        state = 'applied' if patch.applied else (
            'needed' if patch.detect() else 'not needed')
        rows.append((patch.name, patch.package, state, patch.defect))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return '\n'.join('  '.join(cell.ljust(w) for cell, w in zip(row[:3], widths))
                     + '  ' + row[3] for row in rows)
