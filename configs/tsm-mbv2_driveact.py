# MMAction2's own TSM-MobileNetV2 on Drive&Act midlevel, in float: the model
# of MMAction2's `tsm_imagenet-pretrained-mobilenetv2_8xb16-1x1x8-100e_
# kinetics400-rgb.py`, by reference (`mmaction::_base_/models/
# tsm_mobilenet_v2.py`), with this plugin's data, schedule and runtime: 8
# segments of one frame each (TSN-style sampling inside the chunk), 224x224.
# Start from the MMAction2 model zoo's Kinetics-400 TSM-MobileNetV2 with
# `load_from` (its 400-class fc_cls is skipped with a size-mismatch
# warning). The float student of configs/kd_qat_tsm-mbv2_driveact.py.
_base_ = [
    'mmaction::_base_/models/tsm_mobilenet_v2.py',
    '_base_/datasets/driveact_midlevel_rgb.py',
    '_base_/schedules/sgd_200e.py', '_base_/default_runtime.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'
num_classes = 34
num_segments = 8
crop_size = 224
# The short side the frames are resized to before cropping.
short_side = 256

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(
        type='SampleChunkFrames',
        clip_len=1,
        frame_interval=1,
        num_clips=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
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
    dict(type='Resize', scale=(-1, short_side)),
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

# The stock model with Drive&Act's classes; no ImageNet initialization (a
# download): `load_from` a Kinetics-400 checkpoint instead.
model = dict(
    backbone=dict(
        num_segments=num_segments, pretrained=None, pretrained2d=False),
    cls_head=dict(num_classes=num_classes, num_segments=num_segments))
