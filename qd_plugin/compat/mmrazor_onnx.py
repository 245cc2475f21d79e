"""Patches for MMRazor 1.0.0's ONNX export of quantized models on PyTorch 2.x.

1. ``quantizer_export_onnx_torchscript``: ``TorchNativeQuantizer``,
   ``OpenVINOQuantizer`` and ``TensorRTQuantizer.export_onnx`` call
   ``torch.onnx.export`` without ``dynamo=``; since torch 2.9 that is the
   dynamo exporter, which fails with ``No module named 'onnxscript'`` and
   ignores the TorchScript symbolics MMRazor registers for its fake-quantize
   nodes. The fix makes ``dynamo=False`` (the TorchScript exporter) their
   default; a caller's own ``dynamo=`` is kept.
2. ``fake_quantize_symbolic_types``:
   ``mmrazor.models.quantizers.native_quantizer`` registers (opset 11) ONNX
   symbolics that turn ``fake_quantize_per_{tensor,channel}_affine`` into
   custom ``mmrazor::FixedPerTensorAffine``/``FixedPerChannelAffine`` nodes,
   which its exporters (``OpenVINOQuantizer.export_onnx``, the TensorRT
   exporter) rewrite for the backend. The nodes get no output type, so the
   TorchScript exporter loses the shape of everything after them and the
   first convolution fails: ``ONNX export of convolution for kernel of
   unknown shape``. The fix re-registers them with the input's type on the
   output (a fake-quantize keeps shape and dtype); the nodes are unchanged.

Patch 1 imports MMRazor's quantizers (after the FX patches of
:mod:`.mmrazor_fx` made that possible), which registers the symbolics that
patch 2 then types.
"""
import functools
import importlib
import inspect
import sys
from typing import Callable, List

from .mmrazor_fx import mmrazor_importable
from .onnx_exporter import onnx_export_defaults_to_dynamo
from .patch import CompatPatch, register_patch

# ---------------------------------------------------------------------------
# 1. The quantizers' export_onnx uses torch's default (dynamo) exporter.
# ---------------------------------------------------------------------------
_QUANTIZERS = (
    ('mmrazor.models.quantizers.native_quantizer', 'TorchNativeQuantizer'),
    ('mmrazor.models.quantizers.openvino_quantizer', 'OpenVINOQuantizer'),
    ('mmrazor.models.quantizers.tensorrt_quantizer', 'TensorRTQuantizer'),
)


def _quantizers_with_export_onnx() -> List[type]:
    """The quantizer classes defining their own ``export_onnx``."""
    classes = []
    for module_name, class_name in _QUANTIZERS:
        quantizer = getattr(
            importlib.import_module(module_name), class_name, None)
        if quantizer is not None and 'export_onnx' in vars(quantizer):
            classes.append(quantizer)
    return classes


def _exports_with_dynamo(export_onnx: Callable) -> bool:
    """Whether ``export_onnx`` leaves the exporter to torch's default."""
    if getattr(export_onnx, 'qd_torchscript_default', False):
        return False
    return 'dynamo' not in inspect.getsource(export_onnx)


def _quantizers_export_with_dynamo() -> bool:
    if not onnx_export_defaults_to_dynamo():
        return False
    if not mmrazor_importable():
        return True  # cannot look yet; the FX patches come first
    return any(
        _exports_with_dynamo(vars(quantizer)['export_onnx'])
        for quantizer in _quantizers_with_export_onnx())


def _torchscript_by_default(export_onnx: Callable) -> Callable:

    @functools.wraps(export_onnx)
    def torchscript_export_onnx(self, *args, **kwargs):
        """``export_onnx`` with the TorchScript exporter unless the caller
        passes ``dynamo=True``."""
        kwargs.setdefault('dynamo', False)
        return export_onnx(self, *args, **kwargs)

    torchscript_export_onnx.qd_torchscript_default = True
    return torchscript_export_onnx


def _export_quantizers_with_torchscript() -> None:
    for quantizer in _quantizers_with_export_onnx():
        export_onnx = vars(quantizer)['export_onnx']
        if _exports_with_dynamo(export_onnx):
            quantizer.export_onnx = _torchscript_by_default(export_onnx)


QUANTIZER_EXPORT_ONNX_TORCHSCRIPT = register_patch(
    CompatPatch(
        name='mmrazor.quantizer_export_onnx_torchscript',
        package='mmrazor',
        defect='TorchNativeQuantizer/OpenVINOQuantizer/TensorRTQuantizer.'
        'export_onnx call torch.onnx.export without dynamo=False, so torch '
        ">= 2.9 uses the dynamo exporter: `No module named 'onnxscript'`",
        detect=_quantizers_export_with_dynamo,
        fix=_export_quantizers_with_torchscript))

# ---------------------------------------------------------------------------
# 2. MMRazor's fake-quantize ONNX symbolics give their outputs no type.
# ---------------------------------------------------------------------------
# Applied after patch 1, whose check imports MMRazor's quantizers: that
# import registers these symbolics.
_MMRAZOR_SYMBOLICS = 'mmrazor.models.quantizers.native_quantizer'
_OPSET = 11  # what MMRazor registers them for
_NAMES = ('fake_quantize_per_tensor_affine',
          'fake_quantize_per_channel_affine')


def _registered_symbolic(name: str):
    """The symbolic the TorchScript exporter uses for ``aten::<name>`` at
    MMRazor's opset, or None."""
    try:
        from torch.onnx._internal.torchscript_exporter import registration
    except ImportError:  # torch < 2.9
        from torch.onnx._internal import registration
    group = registration.registry.get_function_group(f'aten::{name}')
    return None if group is None else group.get(_OPSET)


def _typed(symbolic):
    """``symbolic`` with the output typed like its first input."""

    def typed_symbolic(g, inputs, *args):
        output = symbolic(g, inputs, *args)
        output.setType(inputs.type())
        return output

    typed_symbolic.qd_untyped = symbolic
    return typed_symbolic


def _untyped_symbolics_registered() -> bool:
    if _MMRAZOR_SYMBOLICS not in sys.modules:
        return False  # MMRazor's quantizers not imported: nothing registered
    module = sys.modules[_MMRAZOR_SYMBOLICS]
    return any(
        _registered_symbolic(name) is getattr(module, name, None)
        for name in _NAMES)


def _register_typed_symbolics() -> None:
    from torch.onnx import register_custom_op_symbolic
    module = sys.modules[_MMRAZOR_SYMBOLICS]
    for name in _NAMES:
        if _registered_symbolic(name) is getattr(module, name, None):
            register_custom_op_symbolic(f'::{name}',
                                        _typed(getattr(module, name)),
                                        _OPSET)


FAKE_QUANTIZE_SYMBOLIC_TYPES = register_patch(
    CompatPatch(
        name='mmrazor.fake_quantize_symbolic_types',
        package='mmrazor',
        defect="MMRazor's ONNX symbolics of fake_quantize_per_{tensor,"
        'channel}_affine emit mmrazor::Fixed*Affine nodes with no output '
        'type: exporting a fake-quantized model fails with `ONNX export of '
        'convolution for kernel of unknown shape`',
        detect=_untyped_symbolics_registered,
        fix=_register_typed_symbolics))
