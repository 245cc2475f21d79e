"""The package's configs and tools: found in a checkout and in an installed
package (``qd_plugin/.mim``), and inherited as ``qd_plugin::`` configs."""
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from qd_plugin.utils import package_files
from qd_plugin.utils.package_files import (config_path, package_files_root,
                                           tool_path)

SHIPPED = ('configs', 'tools')


def shipped_files(root: Path):
    """Relative paths of every file under ``root/configs`` and
    ``root/tools``."""
    return sorted(
        str(path.relative_to(root)) for folder in SHIPPED
        for path in (root / folder).rglob('*')
        if path.is_file() and '__pycache__' not in path.parts)


def test_checkout_files():
    assert package_files_root() == str(REPO_ROOT)
    assert config_path('kd_qat_mbv3d.py') == str(
        REPO_ROOT / 'configs' / 'kd_qat_mbv3d.py')
    assert tool_path('train.py') == str(REPO_ROOT / 'tools' / 'train.py')
    with pytest.raises(FileNotFoundError, match='configs/no_such.py'):
        config_path('no_such.py')


def copy_package_files(root: Path) -> None:
    for folder in SHIPPED:
        shutil.copytree(REPO_ROOT / folder, root / folder)


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """Point the locator at ``tmp_path/<parent>/qd_plugin``."""

    def place(parent: str) -> Path:
        package = tmp_path / parent / 'qd_plugin'
        package.mkdir(parents=True)
        monkeypatch.setattr(package_files, 'PACKAGE_DIR', str(package))
        monkeypatch.setattr(package_files, 'MIM_DIR', str(package / '.mim'))
        return package

    return place


def test_installed_package_uses_its_mim_copy(layout):
    package = layout('site-packages')
    with pytest.raises(FileNotFoundError, match='pip install'):
        package_files_root()
    copy_package_files(package / '.mim')
    assert package_files_root() == str(package / '.mim')
    assert config_path('kd_qat_mbv3d.py') == str(
        package / '.mim' / 'configs' / 'kd_qat_mbv3d.py')


def test_checkout_wins_over_a_stale_mim_copy(layout):
    package = layout('checkout')
    copy_package_files(package / '.mim')
    copy_package_files(package.parent)
    (package.parent / 'setup.py').write_text('')
    assert package_files_root() == str(package.parent)


def test_command_line_prints_paths():
    run = [sys.executable, '-m', 'qd_plugin.utils.package_files']
    found = subprocess.run(run + ['tools/train.py'], capture_output=True,
                           text=True, check=True)
    assert found.stdout.strip() == str(REPO_ROOT / 'tools' / 'train.py')
    missing = subprocess.run(run + ['tools/nope.py'], capture_output=True,
                             text=True)
    assert missing.returncode == 1
    assert 'tools/nope.py not found' in missing.stderr


# ---------------------------------------------------------------------------
# qd_plugin:: configs
# ---------------------------------------------------------------------------
def without_scopes(value):
    """A config value with MMEngine's ``_scope_`` keys removed."""
    if isinstance(value, dict):
        return {k: without_scopes(v) for k, v in value.items()
                if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(without_scopes(v) for v in value)
    return value


def test_user_config_inherits_a_package_config(tmp_path):
    user = tmp_path / 'my_kd_qat.py'
    user.write_text(
        "_base_ = 'qd_plugin::kd_qat_mbv3d.py'\n"
        "custom_imports = dict(imports=['qd_plugin'])\n"
        'train_cfg = dict(max_epochs=1)\n')
    inherited = Config.fromfile(str(user))
    original = Config.fromfile(str(REPO_ROOT / 'configs' / 'kd_qat_mbv3d.py'))
    assert inherited.train_cfg.max_epochs == 1
    inherited.train_cfg.max_epochs = original.train_cfg.max_epochs
    inherited.custom_imports = original.custom_imports
    assert without_scopes(inherited.to_dict()) == without_scopes(
        original.to_dict())
    # Built in the registries our configs are written for; explicit scopes
    # (the MMRazor algorithm) are kept.
    assert inherited.train_dataloader.dataset._scope_ == 'mmaction'
    assert inherited.model._scope_ == 'mmrazor'


def test_unknown_package_config_is_named(tmp_path):
    user = tmp_path / 'user.py'
    user.write_text("_base_ = 'qd_plugin::no_such_config.py'\n")
    with pytest.raises(FileNotFoundError, match='configs/no_such_config.py'):
        Config.fromfile(str(user))


def test_other_package_configs_still_resolve(tmp_path):
    user = tmp_path / 'user.py'
    user.write_text("_base_ = 'mmaction::_base_/default_runtime.py'\n")
    assert Config.fromfile(str(user)).default_scope == 'mmaction'


# ---------------------------------------------------------------------------
# The wheel (`pip install .`)
# ---------------------------------------------------------------------------
def test_wheel_ships_configs_and_tools(tmp_path):
    """Build the wheel from a copy of the checkout, install it into a bare
    folder and use it from an empty folder outside any checkout."""
    source = tmp_path / 'source'
    for name in ('qd_plugin', *SHIPPED):
        shutil.copytree(REPO_ROOT / name, source / name,
                        ignore=shutil.ignore_patterns('__pycache__', '.mim'))
    for name in ('setup.py', 'README.md', 'MANIFEST.in', 'LICENSE'):
        shutil.copy(REPO_ROOT / name, source / name)
    subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
         '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(source)],
        check=True, capture_output=True)
    wheel, = (tmp_path / 'dist').glob('qd_plugin-*.whl')
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for relative in shipped_files(REPO_ROOT):
            name = f'qd_plugin/.mim/{relative}'
            assert name in names, name
            assert archive.read(name) == (REPO_ROOT / relative).read_bytes()

    site = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what pip install puts in site-packages
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    (outside / 'user.py').write_text(
        "_base_ = 'qd_plugin::qat_mbv3d.py'\n"
        "custom_imports = dict(imports=['qd_plugin'])\n")
    probe = textwrap.dedent('''
        import qd_plugin
        from mmengine.config import Config
        from qd_plugin.utils.package_files import package_files_root, tool_path
        cfg = Config.fromfile('user.py')
        print(qd_plugin.__file__)
        print(package_files_root())
        print(tool_path('train.py'))
        print(cfg.val_cfg.type)
    ''')
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, '-c', probe], cwd=outside,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()[-4:]
    mim = site / 'qd_plugin' / '.mim'
    assert lines == [
        str(site / 'qd_plugin' / '__init__.py'),
        str(mim),
        str(mim / 'tools' / 'train.py'), 'QATMergedValLoop'
    ]
