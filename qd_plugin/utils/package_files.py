"""Where the package's ``configs/`` and ``tools/`` are.

In a source checkout they are the checkout's own folders. An installed
package carries copies in ``qd_plugin/.mim/`` (``setup.py`` copies them into
the wheel, as MMAction2 ships ``mmaction/.mim``), so that
``<site-packages>/qd_plugin/.mim/tools/train.py`` and the ``qd_plugin::``
configs work without a checkout.

``python -m qd_plugin.utils.package_files [PATH]`` prints the folder holding
both, or the path of ``PATH`` in it (e.g. ``tools`` or ``tools/train.py``).
"""
import os.path as osp
import sys
from typing import List, Optional

#: The ``qd_plugin`` package folder.
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The copies of ``configs/`` and ``tools/`` an installed package carries.
MIM_DIR = osp.join(PACKAGE_DIR, '.mim')
#: What ``setup.py`` ships in ``.mim`` (MMAction2 ships the same two).
SHIPPED_FOLDERS = ('configs', 'tools')
# A folder holding these is a complete copy of the shipped files.
_MARKERS = (osp.join('configs', '_base_', 'default_runtime.py'),
            osp.join('tools', 'train.py'))


def _holds_package_files(folder: str) -> bool:
    return all(osp.isfile(osp.join(folder, marker)) for marker in _MARKERS)


def package_files_root() -> str:
    """The folder holding ``configs/`` and ``tools/``: the source checkout
    the package is imported from, else the installed package's ``.mim``.

    The checkout wins over a ``.mim`` left in it by an earlier
    ``pip install .`` (a copy that may be out of date).

    Raises:
        FileNotFoundError: neither holds them (a broken install).
    """
    checkout = osp.dirname(PACKAGE_DIR)
    if osp.isfile(osp.join(checkout, 'setup.py')) and \
            _holds_package_files(checkout):
        return checkout
    if _holds_package_files(MIM_DIR):
        return MIM_DIR
    raise FileNotFoundError(
        f'qd_plugin at {PACKAGE_DIR} has neither a source checkout around it '
        f'nor its configs and tools in {MIM_DIR}: reinstall it with '
        '`pip install .` from a checkout')


def package_file(relative_path: str) -> str:
    """The absolute path of ``relative_path`` (a file or folder, e.g.
    ``'tools/train.py'`` or ``'tools'``) under :func:`package_files_root`.

    Raises:
        FileNotFoundError: no such file; the message names the folder
            searched.
    """
    root = package_files_root()
    path = osp.join(root, relative_path)
    if not osp.exists(path):
        raise FileNotFoundError(f'{relative_path} not found in the package '
                                f'files of qd_plugin ({root})')
    return path


def config_path(name: str) -> str:
    """A shipped config by its name under ``configs/``, e.g.
    ``'kd_qat_mbv3d.py'`` or ``'deploy/video-recognition_3d_openvino_static.py'``.
    """
    return package_file(osp.join('configs', name))


def tool_path(name: str) -> str:
    """A shipped tool by its name under ``tools/``, e.g. ``'train.py'``."""
    return package_file(osp.join('tools', name))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1:
        print('usage: python -m qd_plugin.utils.package_files [PATH]',
              file=sys.stderr)
        return 2
    try:
        print(package_file(argv[0]) if argv else package_files_root())
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
