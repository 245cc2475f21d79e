"""Quantized distillation (configs/kd_qat_mbv3d.py, QuantDistill)."""
import pytest
import torch
import torch.ao.nn.intrinsic.quantized as nniq
import torch.nn.functional as F
from mmaction.structures import ActionDataSample
from mmrazor.registry import MODELS
from test_qat import clips, observe, qat_model_cfg

from conftest import REPO_ROOT
from qd_plugin.quantization import convert_to_int8
from qd_plugin.utils import load_config

KD_QAT_CONFIG = 'configs/kd_qat_mbv3d.py'


def kd_qat_model_cfg(**variables):
    cfg = load_config(str(REPO_ROOT / KD_QAT_CONFIG), variables)
    model = qat_model_cfg(KD_QAT_CONFIG)
    model.teacher_ckpt = None
    return model, cfg


@pytest.fixture
def quant_distill():
    torch.manual_seed(0)
    model, _ = kd_qat_model_cfg()
    return MODELS.build(model)


def labelled(num):
    return [ActionDataSample().set_gt_labels(i % 3) for i in range(num)]


def test_config_is_the_qat_config_plus_the_kd_teacher_and_distiller():
    kd_qat = load_config(str(REPO_ROOT / KD_QAT_CONFIG))
    kd = load_config(str(REPO_ROOT / 'configs/kd_mbv3d.py'))
    qat = load_config(str(REPO_ROOT / 'configs/qat_mbv3d.py'))
    assert kd_qat.model.type == 'QuantDistill'
    assert kd_qat.model.teacher == kd.model.teacher
    assert kd_qat.model.distiller == kd.model.distiller
    assert kd_qat.model.quantizer == qat.model.quantizer
    assert kd_qat.train_cfg == qat.train_cfg
    assert (kd_qat.T, kd_qat.beta) == (3.0, 0.9)
    assert kd_qat.model.architecture.cls_head.loss_cls.loss_weight == \
        pytest.approx(0.1)
    rebound = load_config(
        str(REPO_ROOT / KD_QAT_CONFIG),
        dict(teacher_ckpt='t.pth', float_checkpoint='f.pth', beta=0.5,
             freeze_bn_begin=7))
    assert (rebound.model.teacher_ckpt, rebound.model.float_checkpoint) == \
        ('t.pth', 'f.pth')
    assert rebound.model.architecture.cls_head.loss_cls.loss_weight == 0.5
    assert rebound.train_cfg.freeze_bn_begin == 7


def test_loss_is_the_weighted_ce_plus_t2_kl(quant_distill):
    model = quant_distill.train()
    inputs, samples = clips(3), labelled(3)
    losses = model.loss(inputs, samples)
    assert {'student.loss_cls', 'distill.loss_kl'} <= set(losses)

    student = model.distiller.student_recorders.get_recorder('logits')
    teacher = model.distiller.teacher_recorders.get_recorder('logits')
    s_logits, t_logits = student.data_buffer[0], teacher.data_buffer[0]
    with torch.no_grad():
        direct = model.teacher.cls_head(
            model.teacher.extract_feat(inputs)[0])
    torch.testing.assert_close(t_logits, direct)

    labels = torch.tensor([0, 1, 2])
    T, beta = 3.0, 0.9
    ce = F.cross_entropy(s_logits, labels)
    kl = F.kl_div(
        F.log_softmax(s_logits / T, dim=1),
        F.softmax(t_logits / T, dim=1),
        reduction='batchmean')
    torch.testing.assert_close(losses['student.loss_cls'], (1 - beta) * ce)
    torch.testing.assert_close(losses['distill.loss_kl'], beta * T**2 * kl)


def test_gradients_reach_only_the_student_and_teacher_stays_in_eval(
        quant_distill):
    model = quant_distill.train()
    assert not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())
    stats = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    model.zero_grad()
    losses = model.loss(clips(2, seed=1), labelled(2))
    (losses['student.loss_cls'] + losses['distill.loss_kl']).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    student_grads = [
        p.grad for p in model.qmodels['loss'].parameters()
        if p.requires_grad
    ]
    assert student_grads and all(g is not None for g in student_grads)
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, stats[key], msg=key)


def test_student_recorder_follows_rebuilt_graphs(quant_distill):
    model = quant_distill
    model.qmodels = model._build_qmodels(model.architecture)
    model.loss(clips(2), labelled(2))
    recorded = model.distiller.student_recorders.get_recorder('logits')
    assert recorded.data_buffer and recorded.data_buffer[0].shape == (2, 34)


def test_fake_quant_student_converts_to_int8_like_qat(quant_distill):
    model = observe(quant_distill)
    int8 = convert_to_int8(model)
    kinds = [type(m) for m in int8.modules()]
    assert kinds.count(nniq.ConvReLU3d) == 27
    inputs = clips(4, seed=9)
    with torch.no_grad():
        fake_quant = model(inputs, None, 'tensor')
        real = int8(inputs)
    assert real.shape == fake_quant.shape == (4, 34)
    assert (real.argmax(1) == fake_quant.argmax(1)).float().mean() >= 0.75


def test_missing_teacher_checkpoint_is_named(tmp_path):
    model, _ = kd_qat_model_cfg()
    model.teacher_ckpt = str(tmp_path / 'no_teacher.pth')
    with pytest.raises(FileNotFoundError, match='no_teacher.pth'):
        MODELS.build(model)

