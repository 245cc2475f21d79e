# 8-bit quantization-aware training (QAT) of MMAction2's own X3D-S on
# Drive&Act midlevel: the model of MMAction2's
# `x3d_s_13x6x1_facebook-kinetics400-rgb.py`, by reference
# (`mmaction::_base_/models/x3d.py`), with this plugin's data, schedule and
# QAT recipe (configs/_base_/quantization/qat_x86.py). StrictMMArchitectureQuant
# builds the stock model as its FX-traceable twin (TraceableRecognizer3D,
# TraceableX3DHead, plain torch convolutions: the same state dict), fuses
# Conv+BN(+ReLU) and quantizes squeeze-excitation and Swish too (sigmoid and
# mul have int8 kernels on x86): nothing is left in float.
#
# Start from X3D-S trained in float on Drive&Act (`float_checkpoint`, a
# checkpoint of the same model, e.g. trained with MMAction2's X3D-S config
# pointed at this dataset), then:
#   python tools/train.py configs/qat_x3d-s_driveact.py \
#       --cfg-options float_checkpoint=<x3d-s float>.pth
#   python tools/test.py configs/qat_x3d-s_driveact.py <qat ckpt>.pth
# (fake-quant and int8 metrics, int8 TorchScript in the work dir), and
#   python tools/deploy.py configs/deploy/video-recognition_3d_openvino_static.py \
#       configs/qat_x3d-s_driveact.py <qat ckpt>.pth --work-dir <dir>
# (QDQ int8 ONNX and OpenVINO IR).
_base_ = [
    'mmaction::_base_/models/x3d.py',
    '_base_/datasets/driveact_midlevel_rgb.py',
    '_base_/schedules/sgd_200e.py', '_base_/default_runtime.py',
    '_base_/quantization/qat_x86.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'
num_classes = 34

float_checkpoint = None
# Epochs (1-based) from which the BN statistics / the observers are frozen.
freeze_bn_begin = 150
disable_observer_begin = 150
# X3D-S's clips (MMAction2's x3d_s_13x6x1): 13 frames, every 6th, 182x182.
clip_len = 13
frame_interval = 6
crop_size = 182
# The shape the quantized graph is run with once when built and the int8
# model is traced with: (N, num_clips, C, T, H, W).
input_shape = (1, 1, 3, clip_len, crop_size, crop_size)

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(
        type='SampleChunkFrames',
        clip_len=clip_len,
        frame_interval=frame_interval),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 208)),
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
    dict(type='Resize', scale=(-1, 208)),
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

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='StrictMMArchitectureQuant',
    # The stock model, with Drive&Act's classes. MMAction2 zero-initializes
    # the last BN of each residual block; QAT's Conv+BN fusion divides by
    # the BN weight (NaN), so a model trained from scratch here starts with
    # them at one (a float checkpoint replaces them anyway).
    architecture=dict(
        _base_.model,
        backbone=dict(_base_.model.backbone, zero_init_residual=False),
        cls_head=dict(_base_.model.cls_head, num_classes=num_classes)),
    float_checkpoint=float_checkpoint,
    input_shapes=input_shape,
    quantizer=_base_.qat_quantizer)

# The float schedule with a 10x lower learning rate: QAT fine-tunes a
# trained model.
optim_wrapper = dict(optimizer=dict(lr=0.005))

train_cfg = dict(
    _delete_=True,
    type='mmrazor.QATEpochBasedLoop',
    max_epochs=200,
    val_begin=1,
    val_interval=5,
    freeze_bn_begin=freeze_bn_begin,
    disable_observer_begin=disable_observer_begin)
# Validates the fake-quant model (`qat.` metrics) and the float model
# (`original.` metrics).
val_cfg = dict(_delete_=True, type='mmrazor.QATValLoop')
# Tests the fake-quant model and the int8 model converted from it.
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
