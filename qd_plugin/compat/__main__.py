"""``python -m qd_plugin.compat``: list the compat patches and their state."""
import qd_plugin  # noqa: F401  (applies the patches)
from qd_plugin.compat import patch_report

print(patch_report())
