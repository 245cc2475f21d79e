# Quantized distillation of MMAction2's own TSM-MobileNetV2 on Drive&Act
# midlevel: 8-bit QAT of the student while it learns from a frozen float
# MMAction2 I3D-R50 teacher's soft labels,
#     loss = (1 - beta) * CE(student) + beta * T^2 * KL(teacher_T || student_T)
# The student is the model of MMAction2's
# `tsm_imagenet-pretrained-mobilenetv2_8xb16-1x1x8-100e_kinetics400-rgb.py`,
# by reference (`mmaction::_base_/models/tsm_mobilenet_v2.py`): it is built
# as its FX-traceable twin (TraceableRecognizer2D, TraceableTSMHead, a
# temporal shift that stays int8, Conv+BN+ReLU6 fused), the same state dict.
# The teacher is the model of MMAction2's I3D-R50 config, given by path
# (`cfg_path`) and built with the dataset's class count; it runs on the
# student's 8 frames as one 8-frame clip. The logits are recorded where each
# head hands them to its loss (RecognizerLogitsDistiller), whatever its
# layers are called.
#
# Train the teacher (configs/i3d-r50_driveact.py) and the float student (the
# stock TSM config on this data) first, then:
#   python tools/train.py configs/kd_qat_tsm-mbv2_driveact.py --cfg-options \
#       teacher_ckpt=<i3d-r50>.pth float_checkpoint=<tsm-mbv2>.pth
#   python tools/test.py configs/kd_qat_tsm-mbv2_driveact.py <ckpt>.pth
# Our tools re-bind these top-level variables before the file is parsed.
_base_ = [
    'mmaction::_base_/models/tsm_mobilenet_v2.py',
    '_base_/datasets/driveact_midlevel_rgb.py',
    '_base_/schedules/sgd_200e.py', '_base_/default_runtime.py',
    '_base_/quantization/qat_x86.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'
num_classes = 34

T = 3.0
beta = 0.9
teacher_ckpt = None
float_checkpoint = None
freeze_bn_begin = 150
disable_observer_begin = 150
# TSM's input: 8 segments of one frame each, 224x224 (TSN-style sampling
# inside the chunk).
num_segments = 8
crop_size = 224
input_shape = (1, num_segments, 3, crop_size, crop_size)

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(
        type='SampleChunkFrames',
        clip_len=1,
        frame_interval=1,
        num_clips=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop', area_range=(0.3, 1.0)),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(
        type='SampleChunkFrames',
        clip_len=1,
        frame_interval=1,
        num_clips=num_segments,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    dataset=dict(
        ann_root=ann_root,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        ann_root=ann_root,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(
        ann_root=ann_root,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='QuantDistill',
    # The stock student with Drive&Act's classes, its CE weighted by
    # 1 - beta. Its ImageNet initialization (a download) is for float
    # training; QAT starts from `float_checkpoint`.
    architecture=dict(
        _base_.model,
        backbone=dict(
            _base_.model.backbone,
            num_segments=num_segments,
            pretrained=None,
            pretrained2d=False),
        cls_head=dict(
            _base_.model.cls_head,
            num_classes=num_classes,
            num_segments=num_segments,
            loss_cls=dict(type='CrossEntropyLoss', loss_weight=1 - beta))),
    float_checkpoint=float_checkpoint,
    input_shapes=input_shape,
    quantizer=_base_.qat_quantizer,
    # MMAction2's I3D-R50, with the student's class count; its ImageNet
    # initialization (a download) is replaced by `teacher_ckpt`.
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
val_cfg = dict(_delete_=True, type='mmrazor.QATValLoop')
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
