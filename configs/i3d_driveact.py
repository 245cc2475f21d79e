# Inception I3D teacher on Drive&Act midlevel, the paper's settings: 16 frames,
# 224 crop, inputs in [-1, 1], SGD lr 0.05, batch 15, class-balanced sampling.
# Initialise from Kinetics-400 weights:
#   python tools/convert_ckpt.py kinetics_i3d_pytorch model_rgb.pth \
#       checkpoints/i3d_kinetics400.pth --drop-classifier
# and train with `--cfg-options load_from=checkpoints/i3d_kinetics400.pth`.
_base_ = [
    '_base_/models/i3d_inception.py',
    '_base_/datasets/driveact_midlevel_rgb.py', '_base_/schedules/sgd_200e.py',
    '_base_/default_runtime.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

train_dataloader = dict(
    batch_size=15,
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))

optim_wrapper = dict(optimizer=dict(lr=0.05))
auto_scale_lr = dict(base_batch_size=15)
