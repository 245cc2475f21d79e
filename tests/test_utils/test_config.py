import os

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
