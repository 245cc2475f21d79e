import os
import tempfile

import pytest

from conftest import REPO_ROOT
from qd_plugin.utils import load_config


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / '_base_').mkdir()
    (tmp_path / '_base_' / 'model.py').write_text(
        "model = dict(type='M', depth=1)\nlr = 0.1\n")
    (tmp_path / 'child.py').write_text(
        "_base_ = ['_base_/model.py']\n"
        "beta = 0.9\n"
        "ckpt = 'a.pth'\n"
        "model = dict(ckpt=ckpt,\n"
        "             weights=[1 - beta, beta])\n")
    return tmp_path


def test_variables_rebind_derived_values(config_dir):
    cfg = load_config(str(config_dir / 'child.py'),
                      dict(beta=0.5, ckpt='b.pth', **{'model.depth': 3}))
    assert cfg.model == dict(type='M', depth=3, ckpt='b.pth',
                             weights=[0.5, 0.5])
    assert cfg.beta == 0.5
    assert cfg.filename == str(config_dir / 'child.py')
    assert sorted(os.listdir(config_dir)) == ['_base_', 'child.py']


def test_other_options_merge_as_usual(config_dir):
    cfg = load_config(str(config_dir / 'child.py'),
                      {'model.depth': 2, 'work_dir': 'w'})
    assert cfg.model.depth == 2 and cfg.model.ckpt == 'a.pth'
    assert cfg.work_dir == 'w'  # read by the Runner, defined nowhere
    assert load_config(str(config_dir / 'child.py')).model.weights == [
        pytest.approx(0.1), 0.9
    ]


def test_kd_config_teacher_checkpoint_and_beta_follow_the_options():
    cfg = load_config(
        str(REPO_ROOT / 'configs' / 'kd_mbv3d.py'),
        dict(teacher_ckpt='teacher.pth', beta=0.5, T=2.0))
    assert cfg.model.teacher_ckpt == 'teacher.pth'
    assert cfg.model.architecture.cls_head.loss_cls.loss_weight == 0.5
    loss_kl = cfg.model.distiller.distill_losses.loss_kl
    assert (loss_kl.tau, loss_kl.loss_weight) == (2.0, 0.5)


def test_base_variables_rebind_every_dataset():
    """The README's `split=` and `views=`, assigned in the dataset base, not
    in the config file itself: every dataset follows."""
    cfg = load_config(str(REPO_ROOT / 'configs' / 'kd_mbv3d.py'),
                      dict(split=1, views=('ceiling', 'kinect_ir')))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.split == 1, name
        assert cfg[name].dataset.views == ('ceiling', 'kinect_ir'), name
    assert cfg.split == 1 and cfg.filename.endswith('kd_mbv3d.py')
    configs = REPO_ROOT / 'configs'
    assert not [p for p in configs.rglob('.*') if p.is_file()]


def test_variables_of_package_configs_rebind_in_a_user_config(tmp_path):
    """A user's config that only inherits ``qd_plugin::kd_qat_mbv3d.py``:
    ``teacher_ckpt=``, ``beta=`` and ``split=`` (assigned two bases deep in
    the package) reach every setting derived from them, and no copy is
    left in the user's folder, the temporary folder or the package."""
    user = tmp_path / 'my_kd_qat.py'
    user.write_text("_base_ = 'qd_plugin::kd_qat_mbv3d.py'\n"
                    "custom_imports = dict(imports=['qd_plugin'])\n")
    temp_before = set(os.listdir(tempfile.gettempdir()))
    cfg = load_config(str(user),
                      dict(teacher_ckpt='teacher.pth', beta=0.5, split=2))
    assert cfg.model.teacher_ckpt == 'teacher.pth'
    assert cfg.model.architecture.cls_head.loss_cls.loss_weight == 0.5
    assert cfg.model.distiller.distill_losses.loss_kl.loss_weight == 0.5
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.split == 2, name
    plain = load_config(str(user))
    assert cfg.model.get('_scope_') == plain.model.get('_scope_')
    assert plain.model.teacher_ckpt == 'work_dirs/i3d_driveact/teacher.pth'
    assert cfg.filename == str(user)
    assert os.listdir(tmp_path) == ['my_kd_qat.py']
    assert not [name for name in set(os.listdir(tempfile.gettempdir())) -
                temp_before if name.endswith('.py')]
    assert not [p for p in (REPO_ROOT / 'configs').rglob('.*') if p.is_file()]


@pytest.mark.parametrize('option,close', [('teacher_ckp', 'teacher_ckpt'),
                                          ('bata', 'beta'),
                                          ('trian_cfg.max_epochs', 'train_cfg')
                                          ])
def test_unknown_top_level_keys_are_refused(option, close):
    with pytest.raises(ValueError) as error:
        load_config(str(REPO_ROOT / 'configs' / 'kd_mbv3d.py'),
                    {option: 1})
    message = str(error.value)
    key = option.split('.')[0]
    assert message.startswith(
        f'--cfg-options: unknown top-level key(s) {key!r} (did you mean '
        f"{close!r}?) for {REPO_ROOT / 'configs' / 'kd_mbv3d.py'}; the config "
        'and its bases define T, ann_root, auto_scale_lr, beta, ')
    assert ', teacher_ckpt, ' in message and ', views, ' in message
    assert message.endswith(', work_dir')  # Runner keys, also accepted


def test_a_variable_nothing_derives_from_is_refused(config_dir, tmp_path):
    """In a dumped config the derived settings are literal copies."""
    dumped = tmp_path / 'dumped.py'
    load_config(str(REPO_ROOT / 'configs' / 'mbv3d_driveact.py')).dump(
        str(dumped))
    with pytest.raises(ValueError) as error:
        load_config(str(dumped), dict(split=2))
    assert str(error.value) == (
        f"--cfg-options split=...: no setting of {dumped} is derived from its "
        "top-level variable 'split', so the option would change nothing (a "
        'config written by Config.dump holds literal copies of the derived '
        'settings); set the settings that hold its value instead, e.g. '
        'test_dataloader.dataset.split=..., train_dataloader.dataset.split='
        '..., val_dataloader.dataset.split=...')
    with pytest.raises(ValueError, match="variable 'lr'"):
        load_config(str(config_dir / 'child.py'), dict(lr=0.2))
    # Runner settings are read as they are; the same value changes nothing.
    assert load_config(str(dumped), dict(load_from='x.pth',
                                         split=0)).load_from == 'x.pth'
