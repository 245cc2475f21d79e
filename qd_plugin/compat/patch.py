"""The patch record every compat module uses to describe one upstream defect."""
from dataclasses import dataclass
from typing import Callable, List


@dataclass
class CompatPatch:
    """One small fix for one upstream defect.

    Args:
        name (str): Unique name, ``<package>.<what_it_fixes>``.
        package (str): The upstream package whose defect this fixes.
        defect (str): One line: what breaks without the patch.
        detect (Callable[[], bool]): Returns True while the defect is present
            (feature detection, not version strings).
        fix (Callable[[], None]): Applies the fix. Only called when
            ``detect()`` is True.
    """

    name: str
    package: str
    defect: str
    detect: Callable[[], bool]
    fix: Callable[[], None]
    applied: bool = False

    def apply(self) -> bool:
        """Apply the fix if the defect is present; idempotent.

        Returns:
            bool: True if the fix was applied by this call.
        """
        if self.applied or not self.detect():
            return False
        self.fix()
        self.applied = True
        return True


PATCHES: List[CompatPatch] = []


def register_patch(patch: CompatPatch) -> CompatPatch:
    """Add ``patch`` to the list that :func:`apply_patches` walks."""
    if any(p.name == patch.name for p in PATCHES):
        raise KeyError(f'compat patch {patch.name!r} is registered twice')
    PATCHES.append(patch)
    return patch
