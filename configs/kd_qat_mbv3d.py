# Quantized Distillation (the paper's method in one run): 8-bit
# quantization-aware training of the 3D MobileNet 0.5x student while it
# learns from the frozen float Inception I3D teacher's soft labels,
#     loss = (1 - beta) * CE(student) + beta * T^2 * KL(teacher_T || student_T)
# with the fake-quantized student's logits. The quantization settings are
# those of configs/qat_mbv3d.py, the distillation those of configs/kd_mbv3d.py.
#
#   python tools/train.py configs/kd_qat_mbv3d.py --cfg-options \
#       teacher_ckpt=work_dirs/i3d_driveact/<best>.pth \
#       float_checkpoint=work_dirs/mbv3d_driveact/<best>.pth
#   python tools/test.py configs/kd_qat_mbv3d.py work_dirs/kd_qat_mbv3d/<ckpt>
# (the test writes fakequant/ and int8/ metrics and <work_dir>/int8_model.pt).
# Our tools re-bind these top-level variables before the file is parsed.
_base_ = ['./qat_mbv3d.py', '_base_/distillation/i3d_logits_kd.py']

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

T = 3.0
beta = 0.9
teacher_ckpt = 'work_dirs/i3d_driveact/teacher.pth'
float_checkpoint = 'work_dirs/mbv3d_driveact/float_student.pth'
# Epochs (1-based) from which the BN statistics / the observers are frozen.
freeze_bn_begin = 150
disable_observer_begin = 150

train_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))

model = dict(
    type='QuantDistill',
    float_checkpoint=float_checkpoint,
    # The student's CE is weighted by 1 - beta (CE on logits; the paper's
    # code took it of softmax outputs).
    architecture=dict(
        cls_head=dict(
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1 - beta))),
    # QuantDistill keeps the teacher in eval mode.
    teacher=_base_.kd_teacher,
    teacher_ckpt=teacher_ckpt,
    # KLDivergence multiplies by tau^2 itself, so its weight is beta.
    distiller=dict(
        _base_.kd_distiller,
        distill_losses=dict(
            loss_kl=dict(
                type='KLDivergence',
                tau=T,
                reduction='batchmean',
                loss_weight=beta))))

train_cfg = dict(
    freeze_bn_begin=freeze_bn_begin,
    disable_observer_begin=disable_observer_begin)
