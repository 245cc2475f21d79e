"""Distillation from any MMAction2 teacher into any MMAction2 student
(configs/kd_qat_tsm-mbv2_driveact.py: TSM-MobileNetV2 from I3D-R50)."""
import copy
import sys

import pytest
import torch
import torch.nn.functional as F
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmrazor.registry import MODELS
from torch.ao.quantization import disable_observer

from conftest import REPO_ROOT
from qd_plugin.models.algorithms import TeacherInputs, build_teacher
from qd_plugin.utils import load_config

sys.path.insert(0, str(REPO_ROOT / 'tests' / 'test_quantization'))
from stock_models import data_batch  # noqa: E402

KD_CONFIG = 'configs/kd_qat_tsm-mbv2_driveact.py'
I3D = ('mmaction::recognition/i3d/'
       'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py')
#: A narrow I3D-R50 (same blocks and layer types), offline.
TINY_I3D = {
    'backbone.pretrained': None,
    'backbone.pretrained2d': False,
    'backbone.base_channels': 16,
    'cls_head.in_channels': 512,
}


def test_teacher_from_an_mmaction_config_gets_the_students_classes():
    teacher = build_teacher(dict(cfg_path=I3D, cfg_options=TINY_I3D), 34)
    assert type(teacher).__name__ == 'Recognizer3D'
    assert teacher.cls_head.num_classes == 34
    assert teacher.cls_head.fc_cls.out_features == 34
    assert teacher.backbone.base_channels == 16
    # The config's data preprocessor (ImageNet normalization, NCTHW).
    assert teacher.data_preprocessor.format_shape == 'NCTHW'
    torch.testing.assert_close(teacher.data_preprocessor.mean.flatten(),
                               torch.tensor([123.675, 116.28, 103.53]))


def test_teacher_with_other_classes_is_refused():
    teacher = copy.deepcopy(
        load_config(str(REPO_ROOT / 'configs/i3d-r50_driveact.py')).model)
    teacher.cls_head.num_classes = 400
    teacher._scope_ = 'mmaction'
    with pytest.raises(ValueError,
                       match=r'teacher classifies 400 classes \(teacher '
                       r'cls_head.num_classes\) and the student 34'):
        build_teacher(teacher, 34)


def preprocessor(format_shape, mean=(123.675, 116.28, 103.53),
                 std=(58.395, 57.12, 57.375)):
    return ActionDataPreprocessor(
        mean=list(mean), std=list(std), format_shape=format_shape)


def preprocessed(data_preprocessor, batch):
    return data_preprocessor(
        dict(inputs=list(batch), data_samples=None), False)['inputs']


def test_teacher_inputs_relayout_frames_into_a_clip_and_renormalize():
    raw = torch.randint(0, 256, (2, 8, 3, 4, 4)).float()  # NCHW batch
    student = preprocessor('NCHW', mean=(127.5, ) * 3, std=(127.5, ) * 3)
    teacher = preprocessor('NCTHW')
    to_teacher = TeacherInputs(student, teacher)
    student_inputs = preprocessed(student, raw)
    clip = raw.transpose(1, 2).unsqueeze(1)  # (N, 1, C, T=8, H, W)
    expected = preprocessed(teacher, clip)
    got = to_teacher(student_inputs)
    assert got.shape == (2, 1, 3, 8, 4, 4)
    torch.testing.assert_close(got, expected)
    # Same normalization and layout: the inputs as they are.
    same = TeacherInputs(preprocessor('NCTHW'), preprocessor('NCTHW'))
    assert not same.renormalize
    assert same(expected) is expected
    # Clips of a 3D student become the frames of a frame-wise teacher.
    frames = TeacherInputs(preprocessor('NCTHW'), preprocessor('NCHW'))
    torch.testing.assert_close(
        frames(expected),
        preprocessed(preprocessor('NCHW'), raw))
    skeletons = ActionDataPreprocessor(format_shape='NCTVM')
    with pytest.raises(ValueError, match="layouts .* got 'NCTVM'"):
        TeacherInputs(preprocessor('NCHW'), skeletons)


@pytest.fixture(scope='module')
def tsm_from_i3d():
    """The KD config's model, narrow and on 32x32 frames."""
    cfg = load_config(str(REPO_ROOT / KD_CONFIG))
    model = copy.deepcopy(cfg.model)
    model.architecture.backbone.widen_factor = 0.5
    model.architecture.cls_head.num_classes = 5
    model.teacher.cfg_options.update(TINY_I3D)
    model.input_shapes = (1, 8, 3, 32, 32)
    model.forward_modes = ('tensor', 'loss')
    torch.manual_seed(0)
    return MODELS.build(model)


def test_kd_loss_is_computed_from_the_logits_the_heads_give_their_losses(
        tsm_from_i3d):
    model = tsm_from_i3d
    assert model.teacher.cls_head.num_classes == 5
    assert type(model.architecture).__name__ == 'TraceableRecognizer2D'
    batch = model.data_preprocessor(data_batch('tsm-mobilenetv2', 3), True)
    inputs, samples = batch['inputs'], batch['data_samples']
    model.train()
    with torch.no_grad():
        model(inputs, samples, 'loss')  # observers see data
    model.apply(disable_observer)
    model.eval()  # no dropout: the logits are reproducible
    with torch.no_grad():
        losses = model(inputs, samples, 'loss')
    assert set(losses) >= {'student.loss_cls', 'distill.loss_kl'}
    student = model.distiller.student_recorders.get_recorder(
        'logits').get_record_data()
    teacher = model.distiller.teacher_recorders.get_recorder(
        'logits').get_record_data()
    assert student.shape == teacher.shape == (3, 5)
    # The student's: what its fake-quantized classifier outputs (TSM's
    # averaged segments, not the per-frame fc_cls output).
    model.sync_qparams('loss')
    with torch.no_grad():
        torch.testing.assert_close(model.qmodels['tensor'](inputs), student)
        expected_teacher, _ = model.teacher.extract_feat(
            model.teacher_inputs(inputs), stage='head')
    torch.testing.assert_close(teacher, expected_teacher)
    T, beta = 3.0, 0.9
    kl = F.kl_div(
        F.log_softmax(student / T, -1),
        F.softmax(teacher / T, -1),
        reduction='batchmean') * T**2
    torch.testing.assert_close(losses['distill.loss_kl'], beta * kl)
