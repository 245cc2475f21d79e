# MMAction2's own X3D-S on Drive&Act midlevel, in float: the model of
# MMAction2's `x3d_s_13x6x1_facebook-kinetics400-rgb.py`, by reference
# (`mmaction::_base_/models/x3d.py`), with this plugin's data, schedule and
# runtime and X3D-S's clips (13 frames, every 6th, 182x182). Start from the
# MMAction2 model zoo's Kinetics-400 X3D-S with `load_from` (its
# 400-class fc2 is skipped with a size-mismatch warning). The float model of
# configs/qat_x3d-s_driveact.py.
_base_ = [
    'mmaction::_base_/models/x3d.py',
    '_base_/datasets/driveact_midlevel_rgb.py',
    '_base_/schedules/sgd_200e.py', '_base_/default_runtime.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'
num_classes = 34
# X3D-S's clips (MMAction2's x3d_s_13x6x1): 13 frames, every 6th, 182x182.
clip_len = 13
frame_interval = 6
crop_size = 182
# The short side the frames are resized to before cropping.
short_side = 208

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(
        type='SampleChunkFrames',
        clip_len=clip_len,
        frame_interval=frame_interval),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='RandomResizedCrop', area_range=(0.3, 1.0)),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(
        type='SampleChunkFrames',
        clip_len=clip_len,
        frame_interval=frame_interval,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
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

# The stock model with Drive&Act's classes. MMAction2 zero-initializes the
# last BN of each residual block; QAT's Conv+BN fusion divides by the BN
# weight (NaN), so training from scratch starts with them at one.
model = dict(
    backbone=dict(zero_init_residual=False),
    cls_head=dict(num_classes=num_classes))
