# 8-bit quantization-aware training (QAT) of the float 3D MobileNet 0.5x
# (configs/mbv3d_driveact.py) with MMRazor, for PyTorch's `x86` int8 engine,
# as in the Quantized Distillation paper: start from the trained float
# student, fake-quantize per-channel symmetric int8 weights and uint8
# activations, freeze the BN statistics and the observers (the quantization
# ranges) after epoch 150 of 200.
#
# Train the float student first (configs/mbv3d_driveact.py), then:
#   python tools/train.py configs/qat_mbv3d.py \
#       --cfg-options float_checkpoint=work_dirs/mbv3d_driveact/<best>.pth
# (our tools re-bind the top-level `float_checkpoint`, `freeze_bn_begin`,
# `disable_observer_begin` and `input_shape` before the file is parsed, so the
# values built from them follow).
# Test:
#   python tools/test.py configs/qat_mbv3d.py work_dirs/qat_mbv3d/<ckpt>.pth
# tests the fake-quantized model and the true int8 model converted from it
# (`fakequant/...`, `int8/...` in test_metrics.json) and saves the int8 model
# as TorchScript, <work_dir>/int8_model.pt (see qd_plugin.quantization).
_base_ = [
    '_base_/models/mbv3d_0.5x.py', '_base_/datasets/driveact_midlevel_rgb.py',
    '_base_/schedules/sgd_200e.py', '_base_/default_runtime.py'
]

data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'

float_checkpoint = 'work_dirs/mbv3d_driveact/float_student.pth'
# Epochs (1-based) from which the BN statistics / the observers are frozen.
freeze_bn_begin = 150
disable_observer_begin = 150
# The shape the quantized graph is run with once when built and the int8 model
# is traced with: (N, num_clips, C, T, H, W).
input_shape = (1, 1, 3, 16, 224, 224)

train_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_root=ann_root, data_prefix=dict(video=data_root)))

# Per-channel symmetric int8 weights ([-127, 127]) and per-tensor affine
# uint8 activations: what the x86 (fbgemm/onednn) int8 kernels take.
global_qconfig = dict(
    w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
    a_observer=dict(type='mmrazor.MovingAverageMinMaxObserver'),
    w_fake_quant=dict(type='mmrazor.FakeQuantize'),
    a_fake_quant=dict(type='mmrazor.FakeQuantize'),
    w_qscheme=dict(
        qdtype='qint8', bit=8, is_symmetry=True, is_symmetric_range=True),
    a_qscheme=dict(qdtype='quint8', bit=8, is_symmetry=False),
)

# What torch.fx cannot trace: the head's loss/prediction on data samples.
# Everything else (backbone, pooling, classifier) is traced and quantized.
_head = 'qd_plugin.models.heads.TraceableI3DHead'
tracer = dict(
    type='mmrazor.CustomTracer',
    skipped_methods=[f'{_head}.loss_by_feat', f'{_head}.predict_by_feat'])

# MMRazor's MMArchitectureQuant, with a float checkpoint that must fit the
# student (MMRazor loads it non-strictly: random weights and a warning).
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='StrictMMArchitectureQuant',
    # The float student of configs/mbv3d_driveact.py as its FX-traceable
    # subclasses (same modules and state-dict keys: its checkpoints load
    # unchanged), built in the mmaction scope (its CrossEntropyLoss).
    architecture=dict(
        _base_.model,
        _scope_='mmaction',
        type='TraceableRecognizer3D',
        cls_head=dict(_base_.model.cls_head, type='TraceableI3DHead')),
    float_checkpoint=float_checkpoint,
    input_shapes=input_shape,
    quantizer=dict(
        type='mmrazor.TorchNativeQuantizer',
        global_qconfig=global_qconfig,
        tracer=tracer))

model_wrapper_cfg = dict(
    type='mmrazor.MMArchitectureQuantDDP',
    broadcast_buffers=False,
    find_unused_parameters=False)

# The float schedule with a 10x lower learning rate: QAT fine-tunes a trained
# model, and large steps would undo it while the quantization ranges settle.
optim_wrapper = dict(optimizer=dict(lr=0.005))

train_cfg = dict(
    _delete_=True,
    type='mmrazor.QATEpochBasedLoop',
    max_epochs=200,
    val_begin=1,
    val_interval=5,
    freeze_bn_begin=freeze_bn_begin,
    disable_observer_begin=disable_observer_begin)
# Validates the fake-quant model (`qat.` metrics) and the float architecture
# it trains (`original.` metrics): MMRazor's QATValLoop, reporting both to the
# hooks at once (so that save_best finds `qat.` metrics).
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
    imports=[
        'qd_plugin', 'qd_plugin.models.recognizers', 'qd_plugin.models.heads',
        'qd_plugin.quantization', 'mmrazor.models', 'mmrazor.engine'
    ],
    allow_failed_imports=False)
