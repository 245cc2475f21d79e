# MMAction2's ResNet-50 I3D (the model of its
# `i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py`) on
# Drive&Act midlevel: an alternative teacher for users of the MMAction2 model
# zoo. Nothing is downloaded: start from a zoo checkpoint (e.g. the
# Kinetics-400 I3D R50) with `load_from`; its 400-class `cls_head.fc_cls` is
# skipped with a size-mismatch warning. Inputs use the zoo's ImageNet
# normalisation, not the [-1, 1] inputs of the MobileNet3D student: a KD
# teacher sees the student's inputs (see configs/kd_mbv3d.py).
_base_ = [
    '_base_/datasets/driveact_midlevel_rgb.py', '_base_/schedules/sgd_200e.py',
    '_base_/default_runtime.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3d',
        depth=50,
        pretrained=None,
        pretrained2d=False,
        conv_cfg=dict(type='Conv3d'),
        conv1_kernel=(5, 7, 7),
        conv1_stride_t=2,
        pool1_stride_t=2,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
        norm_eval=False,
        zero_init_residual=False),
    cls_head=dict(
        type='I3DHead',
        in_channels=2048,
        num_classes=34,
        spatial_type='avg',
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))

train_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
