# 8-bit QAT of the 3D MobileNet 0.5x as configs/qat_mbv3d.py, with MMRazor's
# OpenVINOQuantizer: fake-quantization placed as OpenVINO's int8 runtime
# executes it (e.g. no fake-quant on the logits) and symmetric activations,
# for deployment as a QDQ ONNX model to OpenVINO. Everything else (float
# checkpoint, schedule, BN/observer freezing at epoch 150) is inherited:
#   python tools/train.py configs/qat_mbv3d_openvino.py \
#       --cfg-options float_checkpoint=work_dirs/mbv3d_driveact/<best>.pth
# tools/test.py tests the fake-quant model and, as a check, the int8 model
# PyTorch's x86 engine makes of it (`fakequant/...`, `int8/...`; the
# classifier stays float there, as OpenVINO's placement leaves its input
# unquantized).
_base_ = ['./qat_mbv3d.py']

# Declared again so that `--cfg-options float_checkpoint=...` etc. re-bind
# them in this file (see configs/qat_mbv3d.py).
float_checkpoint = 'work_dirs/mbv3d_driveact/float_student.pth'
freeze_bn_begin = 150
disable_observer_begin = 150
input_shape = (1, 1, 3, 16, 224, 224)

# OpenVINO's int8: per-channel symmetric weights in [-127, 127], per-tensor
# symmetric activations.
global_qconfig = dict(
    w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
    a_observer=dict(type='mmrazor.MovingAverageMinMaxObserver'),
    w_fake_quant=dict(type='mmrazor.FakeQuantize'),
    a_fake_quant=dict(type='mmrazor.FakeQuantize'),
    w_qscheme=dict(
        qdtype='qint8', bit=8, is_symmetry=True, is_symmetric_range=True),
    a_qscheme=dict(qdtype='quint8', bit=8, is_symmetry=True),
)

model = dict(
    float_checkpoint=float_checkpoint,
    input_shapes=input_shape,
    quantizer=dict(
        _delete_=True,
        type='mmrazor.OpenVINOQuantizer',
        global_qconfig=global_qconfig,
        tracer=_base_.tracer))

train_cfg = dict(
    freeze_bn_begin=freeze_bn_begin,
    disable_observer_begin=disable_observer_begin)
test_cfg = dict(input_shape=input_shape)
