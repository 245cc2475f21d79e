"""The QAT configs of MMAction2's own models (configs/qat_x3d-s_driveact.py,
configs/kd_qat_tsm-mbv2_driveact.py): stock models by reference, inherited
as ``qd_plugin::`` configs, their shapes following the float configs."""
import pytest
from mmengine.config import Config
from mmengine.hub import get_config

from conftest import REPO_ROOT
from qd_plugin.quantization import is_qat_config
from qd_plugin.utils import load_config
from qd_plugin.utils import validate_config

CONFIGS = REPO_ROOT / 'configs'

#: config -> (its float config, the MMAction2 config its model is).
STOCK = {
    'qat_x3d-s_driveact.py':
    ('x3d-s_driveact.py',
     'recognition/x3d/x3d_s_13x6x1_facebook-kinetics400-rgb.py'),
    'kd_qat_tsm-mbv2_driveact.py':
    ('tsm-mbv2_driveact.py', 'recognition/tsm/tsm_imagenet-pretrained-'
     'mobilenetv2_8xb16-1x1x8-100e_kinetics400-rgb.py'),
}


def _without_scopes(value):
    """A config value without the ``_scope_`` keys a ``qd_plugin::`` base
    gets (it is built in the registries it was written for)."""
    if isinstance(value, dict):
        return {k: _without_scopes(v) for k, v in value.items()
                if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_scopes(v) for v in value)
    return value


def _without(cfg: dict, *keys) -> dict:
    return {k: v for k, v in cfg.items() if k not in keys}


@pytest.mark.parametrize('name', sorted(STOCK))
def test_the_student_is_the_stock_model_with_the_datasets_classes(name):
    cfg = load_config(str(CONFIGS / name))
    validate_config(cfg)
    assert is_qat_config(cfg)
    assert cfg.val_cfg.type == 'QATMergedValLoop'
    assert cfg.test_cfg.type == 'QATInt8TestLoop'
    student = cfg.model.architecture
    stock = get_config(f'mmaction::{STOCK[name][1]}').model
    assert student.backbone.type == stock.backbone.type
    assert student.cls_head.type == stock.cls_head.type
    assert student.cls_head.num_classes == 34
    # Only what our data needs differs from the stock model: no download,
    # the classes, the CE weight of KD, X3D's residual BN initialization.
    changed = {'pretrained', 'pretrained2d', 'zero_init_residual'}
    assert _without(student.backbone, *changed) == _without(
        stock.backbone, *changed)
    assert _without(student.cls_head, 'num_classes', 'loss_cls') == _without(
        stock.cls_head, 'num_classes', 'loss_cls')
    # The float config trains the same model.
    float_cfg = load_config(str(CONFIGS / STOCK[name][0]))
    assert float_cfg.model.backbone == student.backbone
    assert _without(float_cfg.model.cls_head, 'loss_cls') == _without(
        student.cls_head, 'loss_cls')


def test_the_qat_input_shapes_follow_the_float_configs_clips():
    x3d = load_config(
        str(CONFIGS / 'qat_x3d-s_driveact.py'),
        dict(clip_len=4, crop_size=64, short_side=72))
    assert x3d.model.input_shapes == (1, 1, 3, 4, 64, 64)
    assert x3d.test_cfg.input_shape == (1, 1, 3, 4, 64, 64)
    test_pipeline = {t['type']: t for t in x3d.test_dataloader.dataset.pipeline}
    assert test_pipeline['SampleChunkFrames']['clip_len'] == 4
    assert test_pipeline['Resize']['scale'] == (-1, 72)
    assert test_pipeline['CenterCrop']['crop_size'] == 64
    tsm = load_config(
        str(CONFIGS / 'kd_qat_tsm-mbv2_driveact.py'), dict(crop_size=64))
    assert tsm.model.input_shapes == (1, 8, 3, 64, 64)
    assert tsm.model.architecture.cls_head.num_segments == 8


def test_the_kd_teacher_is_mmaction_i3d_r50_and_beta_weights_the_losses():
    cfg = load_config(
        str(CONFIGS / 'kd_qat_tsm-mbv2_driveact.py'), dict(beta=0.75))
    assert cfg.model.teacher.cfg_path.startswith('mmaction::recognition/i3d/')
    assert cfg.model.architecture.cls_head.loss_cls.loss_weight == 0.25
    assert cfg.model.distiller.distill_losses.loss_kl.loss_weight == 0.75


@pytest.mark.parametrize('name', sorted(STOCK))
def test_inherited_as_a_package_config(name, tmp_path):
    user = tmp_path / 'my_qat.py'
    user.write_text(f"_base_ = 'qd_plugin::{name}'\n"
                    'train_cfg = dict(max_epochs=3)\n')
    inherited = Config.fromfile(str(user))
    original = Config.fromfile(str(CONFIGS / name))
    assert inherited.train_cfg.max_epochs == 3
    assert inherited.model.architecture.backbone == \
        original.model.architecture.backbone
    assert inherited.model.input_shapes == original.model.input_shapes


def test_a_users_qat_config_of_a_few_lines(tmp_path):
    """The README's recipe: a float config and the QAT base, by prefix."""
    user = tmp_path / 'my_qat.py'
    user.write_text(
        "_base_ = ['qd_plugin::x3d-s_driveact.py',\n"
        "          'qd_plugin::_base_/quantization/qat_x86.py']\n"
        'float_checkpoint = None\n'
        'input_shape = (1, 1, 3, 13, 182, 182)\n'
        "model = dict(_delete_=True, _scope_='mmrazor',\n"
        "             type='StrictMMArchitectureQuant',\n"
        '             architecture=_base_.model,\n'
        '             float_checkpoint=float_checkpoint,\n'
        '             input_shapes=input_shape,\n'
        '             quantizer=_base_.qat_quantizer)\n')
    mine = Config.fromfile(str(user))
    ours = Config.fromfile(str(CONFIGS / 'qat_x3d-s_driveact.py'))
    assert _without_scopes(mine.model.to_dict()) == _without_scopes(
        ours.model.to_dict())
    assert mine.model._scope_ == 'mmrazor'
    assert is_qat_config(mine)
