# 3D MobileNet v1 (width 0.5) student of the Quantized Distillation paper.
model = dict(
    type='Recognizer3D',
    backbone=dict(type='MobileNet3D', width_mult=0.5),
    cls_head=dict(
        type='I3DHead',
        in_channels=512,
        num_classes=34,
        spatial_type='avg',
        dropout_ratio=0.2,
        init_std=0.01,
        average_clips='prob'),
    # Inputs scaled to [-1, 1].
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        format_shape='NCTHW'))
