import pytest

from conftest import REPO_ROOT
from qd_plugin.utils import ConfigError, load_config, validate_config

KD = str(REPO_ROOT / 'configs' / 'kd_mbv3d.py')
LOADERS = ('(in train_dataloader.dataset, val_dataloader.dataset, '
           'test_dataloader.dataset)')


@pytest.mark.parametrize('options,problem', [
    (dict(split=7), f'split = 7: Drive&Act has splits 0, 1, 2 {LOADERS}'),
    (dict(split=-1), f'split = -1: Drive&Act has splits 0, 1, 2 {LOADERS}'),
    (dict(views=['inner_mirro']),
     "views = ['inner_mirro']: unknown Drive&Act view(s) ['inner_mirro']; "
     'the views are inner_mirror, a_column_co_driver, ceiling, '
     f'steering_wheel, a_column_driver, kinect_color, kinect_ir {LOADERS}'),
    (dict(T=0), 'T = 0: the distillation temperature must be a number > 0'),
    (dict(T=-2.0),
     'T = -2.0: the distillation temperature must be a number > 0'),
    (dict(beta=1.5),
     'beta = 1.5: the distillation weight must be within [0, 1] (the loss is '
     '(1 - beta) * CE + beta * T^2 * KL)'),
    (dict(beta=-0.1),
     'beta = -0.1: the distillation weight must be within [0, 1] (the loss '
     'is (1 - beta) * CE + beta * T^2 * KL)'),
    ({'model.distiller.distill_losses.loss_kl.tau': 0},
     'model.distiller.distill_losses.loss_kl.tau = 0: a temperature must be '
     'a number > 0'),
    ({'train_dataloader.dataset.split': 3},
     'split = 3: Drive&Act has splits 0, 1, 2 (in train_dataloader.dataset)'),
])
def test_out_of_range_settings_are_refused(options, problem):
    cfg = load_config(KD, options)
    with pytest.raises(ConfigError) as error:
        validate_config(cfg)
    assert str(error.value) == f'invalid setting(s) in {KD}: {problem}'


def test_every_problem_is_listed_once():
    with pytest.raises(ConfigError) as error:
        validate_config(load_config(KD, dict(split=3, T=0, beta=2)))
    assert str(error.value) == (
        f'invalid setting(s) in {KD}: split = 3: Drive&Act has splits 0, 1, 2'
        f' {LOADERS}; T = 0: the distillation temperature must be a number >'
        ' 0; beta = 2: the distillation weight must be within [0, 1] (the '
        'loss is (1 - beta) * CE + beta * T^2 * KL)')


@pytest.mark.parametrize('config', [
    'mbv3d_driveact.py', 'i3d_driveact.py', 'i3d-r50_driveact.py',
    'kd_mbv3d.py', 'qat_mbv3d.py', 'kd_qat_mbv3d.py'
])
def test_shipped_configs_are_valid(config):
    validate_config(load_config(str(REPO_ROOT / 'configs' / config)))
    validate_config(load_config(str(REPO_ROOT / 'configs' / config),
                                dict(split=2, views=['ceiling'])))
