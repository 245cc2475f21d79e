# Float 3D MobileNet (width 0.5) on Drive&Act midlevel, the paper's settings:
# 16 frames, 224 crop, inputs in [-1, 1], SGD, MultiStepLR, class-balanced
# sampling, 200 epochs. Initialise from Kinetics-600 weights converted with
# `tools/convert_ckpt.py efficient3dcnn ... --drop-classifier` via `load_from`.
_base_ = ['_base_/models/mbv3d_0.5x.py', '_base_/datasets/.9e02767383524aaa98da13c9e9e797f9_driveact_midlevel_rgb.py', '_base_/schedules/sgd_200e.py', '_base_/default_runtime.py']

data_root = 'data/driveact/videos'
ann_root = '/tmp/sweep15/data/ann_good'

train_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
