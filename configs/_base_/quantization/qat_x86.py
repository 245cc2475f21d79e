# The 8-bit quantization-aware training recipe of configs/qat_mbv3d.py for
# any MMAction2 recognizer, as variables a QAT config uses (their names do
# not collide with the model, dataset, schedule and runtime bases):
#
#   model = dict(_delete_=True, _scope_='mmrazor',
#                type='StrictMMArchitectureQuant',
#                architecture=<the float recognizer's config>,
#                quantizer=_base_.qat_quantizer, ...)
#
# Per-channel symmetric int8 weights ([-127, 127]) and per-tensor affine
# uint8 activations: what PyTorch's x86 int8 kernels take, and what exports
# to QDQ ONNX for OpenVINO. StrictMMArchitectureQuant adds the tracer's
# skipped head methods and the fusion patterns of video recognizers itself.
qat_global_qconfig = dict(
    w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
    a_observer=dict(type='mmrazor.MovingAverageMinMaxObserver'),
    w_fake_quant=dict(type='mmrazor.FakeQuantize'),
    a_fake_quant=dict(type='mmrazor.FakeQuantize'),
    w_qscheme=dict(
        qdtype='qint8', bit=8, is_symmetry=True, is_symmetric_range=True),
    a_qscheme=dict(qdtype='quint8', bit=8, is_symmetry=False),
)
qat_quantizer = dict(
    type='mmrazor.TorchNativeQuantizer',
    global_qconfig=qat_global_qconfig,
    tracer=dict(type='mmrazor.CustomTracer'))

model_wrapper_cfg = dict(
    type='mmrazor.MMArchitectureQuantDDP',
    broadcast_buffers=False,
    find_unused_parameters=False)
