# Quantized distillation of MMAction2's own TSM-MobileNetV2 on Drive&Act
# midlevel: 8-bit QAT of the student while it learns from a frozen float
# MMAction2 I3D-R50 teacher's soft labels,
#     loss = (1 - beta) * CE(student) + beta * T^2 * KL(teacher_T || student_T)
# The student is the float model of configs/tsm-mbv2_driveact.py (MMAction2's
# TSM-MobileNetV2, by reference), built as its FX-traceable twin
# (TraceableRecognizer2D, TraceableTSMHead, a temporal shift that stays int8,
# Conv+BN+ReLU6 fused into one int8 kernel): the same state dict. The teacher
# is the model of MMAction2's I3D-R50 config, given by path (`cfg_path`) and
# built with the student's class count; it sees the student's 8 frames as one
# 8-frame clip. The logits are recorded where each head computes them
# (RecognizerLogitsDistiller), whatever its layers are called.
#
# Train the teacher (configs/i3d-r50_driveact.py) and the float student
# (configs/tsm-mbv2_driveact.py) first, then:
#   python tools/train.py configs/kd_qat_tsm-mbv2_driveact.py --cfg-options \
#       teacher_ckpt=work_dirs/i3d-r50_driveact/<best>.pth \
#       float_checkpoint=work_dirs/tsm-mbv2_driveact/<best>.pth
#   python tools/test.py configs/kd_qat_tsm-mbv2_driveact.py <ckpt>.pth
# Our tools re-bind these top-level variables before the file is parsed.
_base_ = ['./tsm-mbv2_driveact.py', '_base_/quantization/qat_x86.py']

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

T = 3.0
beta = 0.9
teacher_ckpt = None
float_checkpoint = None
freeze_bn_begin = 150
disable_observer_begin = 150
# (N, segments, C, H, W), as the float config's pipelines give them.
input_shape = (1, _base_.num_segments, 3, _base_.crop_size,
               _base_.crop_size)

train_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='QuantDistill',
    # The student's CE is weighted by 1 - beta.
    architecture=dict(
        _base_.model,
        cls_head=dict(
            _base_.model.cls_head,
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1 - beta))),
    float_checkpoint=float_checkpoint,
    input_shapes=input_shape,
    quantizer=_base_.qat_quantizer,
    # MMAction2's I3D-R50, with the student's class count; no ImageNet
    # initialization (a download): `teacher_ckpt` holds its weights.
    teacher=dict(
        cfg_path='mmaction::recognition/i3d/'
        'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
        cfg_options={
            'backbone.pretrained': None,
            'backbone.pretrained2d': False,
            'cls_head.dropout_ratio': 0.
        }),
    teacher_ckpt=teacher_ckpt,
    # KLDivergence multiplies by tau^2 itself, so its weight is beta.
    distiller=dict(
        type='RecognizerLogitsDistiller',
        distill_losses=dict(
            loss_kl=dict(
                type='KLDivergence',
                tau=T,
                reduction='batchmean',
                loss_weight=beta))))

optim_wrapper = dict(optimizer=dict(lr=0.005))

train_cfg = dict(
    _delete_=True,
    type='mmrazor.QATEpochBasedLoop',
    max_epochs=200,
    val_begin=1,
    val_interval=5,
    freeze_bn_begin=freeze_bn_begin,
    disable_observer_begin=disable_observer_begin)
val_cfg = dict(_delete_=True, type='QATMergedValLoop')
test_cfg = dict(
    _delete_=True,
    type='QATInt8TestLoop',
    engine='x86',
    artifact='int8_model.pt',
    input_shape=input_shape)

default_hooks = dict(
    checkpoint=dict(save_best='qat.acc/mean_class_accuracy'))

custom_imports = dict(
    imports=['qd_plugin', 'mmrazor.models', 'mmrazor.engine'],
    allow_failed_imports=False)
