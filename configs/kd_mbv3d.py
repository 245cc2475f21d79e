# Knowledge distillation of the Inception I3D teacher (configs/i3d_driveact.py)
# into the 3D MobileNet 0.5x student (configs/mbv3d_driveact.py) with MMRazor,
# as in the Quantized Distillation paper:
#     loss = (1 - beta) * CE(student) + beta * T^2 * KL(teacher_T || student_T)
# where _T are the softmaxes of the logits divided by T. The paper's code took
# the CE of softmax outputs; here the CE is on the logits, as it should be.
# Data, schedule and runtime are the student's.
#
# Train the teacher first, then:
#   python tools/train.py configs/kd_mbv3d.py \
#       --cfg-options teacher_ckpt=work_dirs/i3d_driveact/<best>.pth
# (our tools re-bind top-level variables such as `teacher_ckpt`, `T` and
# `beta` before the file is parsed, so derived values follow). Then extract
# the student with `tools/convert_kd_ckpt_to_student.py` and evaluate it with
# configs/mbv3d_driveact.py.
_base_ = ['./mbv3d_driveact.py', '_base_/distillation/i3d_logits_kd.py']

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

T = 3.0
beta = 0.9
teacher_ckpt = 'work_dirs/i3d_driveact/teacher.pth'

train_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    # MMRazor's SingleTeacherDistill, with a teacher checkpoint that must fit
    # the teacher (MMRazor loads it non-strictly: random weights, a warning).
    type='StrictSingleTeacherDistill',
    # The student of configs/mbv3d_driveact.py, its CE weighted by 1 - beta.
    architecture=dict(
        _base_.model,
        _scope_='mmaction',
        cls_head=dict(
            _base_.model.cls_head,
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1 - beta))),
    teacher=_base_.kd_teacher,
    teacher_ckpt=teacher_ckpt,
    teacher_trainable=False,
    teacher_norm_eval=True,
    # KLDivergence already multiplies by tau^2 (batchmean reduction: summed
    # over classes, averaged over the batch), so its weight is beta.
    distiller=dict(
        _base_.kd_distiller,
        distill_losses=dict(
            loss_kl=dict(
                type='KLDivergence',
                tau=T,
                reduction='batchmean',
                loss_weight=beta))))

# Validation reports the student's metrics and the teacher's, as `teacher.*`
# (MMRazor's SingleTeacherDistillValLoop); the teacher's per-class files get
# a teacher_ prefix instead of replacing the student's.
val_cfg = dict(_delete_=True, type='DistillValLoop')

custom_imports = dict(
    imports=['qd_plugin', 'mmrazor.models', 'mmrazor.engine'],
    allow_failed_imports=False)
