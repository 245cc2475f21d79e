# 8-bit quantization-aware training (QAT) of MMAction2's own X3D-S on
# Drive&Act midlevel: the float model of configs/x3d-s_driveact.py (MMAction2's
# X3D-S, by reference) with the QAT recipe of configs/qat_mbv3d.py
# (configs/_base_/quantization/qat_x86.py). StrictMMArchitectureQuant builds
# the stock model as its FX-traceable twin (TraceableRecognizer3D,
# TraceableX3DHead, plain torch convolutions: the same state dict), fuses
# Conv+BN(+ReLU), and squeeze-excitation and Swish are int8 too (sigmoid and
# mul have int8 kernels on x86): nothing is left in float.
#
# Train the float model first (configs/x3d-s_driveact.py), then:
#   python tools/train.py configs/qat_x3d-s_driveact.py \
#       --cfg-options float_checkpoint=work_dirs/x3d-s_driveact/<best>.pth
#   python tools/test.py configs/qat_x3d-s_driveact.py <qat ckpt>.pth
# (fake-quant and int8 metrics, int8 TorchScript in the work dir), and
#   python tools/deploy.py configs/deploy/video-recognition_3d_openvino_static.py \
#       configs/qat_x3d-s_driveact.py <qat ckpt>.pth --work-dir <dir>
# (QDQ int8 ONNX and OpenVINO IR). Our tools re-bind the top-level variables
# below before the file is parsed.
_base_ = ['./x3d-s_driveact.py', '_base_/quantization/qat_x86.py']

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

float_checkpoint = None
# Epochs (1-based) from which the BN statistics / the observers are frozen.
freeze_bn_begin = 150
disable_observer_begin = 150
# The shape the quantized graph is run with once when built and the int8
# model is traced with: (N, num_clips, C, T, H, W), X3D-S's clips as the
# float config's pipelines give them.
input_shape = (1, 1, 3, _base_.clip_len, _base_.crop_size,
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
    type='StrictMMArchitectureQuant',
    architecture=_base_.model,
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
val_cfg = dict(_delete_=True, type='QATMergedValLoop')
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
