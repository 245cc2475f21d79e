# Inception I3D teacher of the Quantized Distillation paper, in the module
# layout of the kinetics_i3d_pytorch port (its Kinetics-400 weights load after
# `tools/convert_ckpt.py kinetics_i3d_pytorch ... --drop-classifier`).
model = dict(
    type='Recognizer3D',
    backbone=dict(type='InceptionI3D'),
    cls_head=dict(
        type='I3DHead',
        in_channels=1024,
        num_classes=34,
        spatial_type='avg',
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    # Inputs scaled to [-1, 1], as the port was trained.
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        format_shape='NCTHW'))
