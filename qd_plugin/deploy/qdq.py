"""QDQ ONNX export of a quantization-aware trained (QAT) recognizer.

The QAT model's observed graph (MMRazor ``MMArchitectureQuant.qmodels``) is
made deployable as MMRazor's ``get_deploy_model`` does it, without re-tracing
the float model (which needs MMDeploy's rewriters, see the stack notes): BN
folded into the convolutions (``post_process_for_deploy``), weights replaced
by their fake-quantized values, observers off. Every fake-quantize becomes a
standard ``QuantizeLinear -> DequantizeLinear`` pair (opset 13, per-channel
``axis`` for weights; the weights stored as int8 with only their
DequantizeLinear), the format ONNX Runtime and OpenVINO compile to int8
kernels.

The exported graph is then cleaned (:mod:`.graph_cleanup`): no Identity
copies, no re-quantization of an already quantized value, short names, no
unused constants; the same outputs, a smaller file.

Fake-quantize ranges narrower than the 8-bit type (e.g. MMRazor's symmetric
weights in [-127, 127]) are exported with the type's range: weights are
already on the grid, so they are exact; activations would only differ where
PyTorch clamps a value to the narrower bound.
"""
import contextlib
import copy
from typing import Iterator, Optional, Sequence

import torch
import torch.nn as nn
from torch.onnx import (register_custom_op_symbolic,
                        unregister_custom_op_symbolic)

from .runtimes import average_clip_scores

QDQ_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear (axis)

# ONNX TensorProto data types.
_FLOAT, _UINT8, _INT8 = 1, 2, 3


def _zero_point_type(quant_min: int, quant_max: int) -> int:
    if -128 <= quant_min and quant_max <= 127:
        return _INT8
    if 0 <= quant_min and quant_max <= 255:
        return _UINT8
    raise ValueError('only 8-bit fake quantization exports to QDQ; got the '
                     f'range [{quant_min}, {quant_max}]')


def _const_int(value) -> int:
    from torch.onnx import symbolic_helper
    return int(symbolic_helper._get_const(value, 'i', 'quant range'))


def _qdq(g, inputs, scale, zero_point, quant_min, quant_max, axis=None):
    to = _zero_point_type(_const_int(quant_min), _const_int(quant_max))
    scale = g.op('Cast', scale, to_i=_FLOAT)
    zero_point = g.op('Cast', zero_point, to_i=to)
    if axis is None:  # per tensor: scalar scale and zero point
        scalar = g.op('Constant', value_t=torch.tensor([], dtype=torch.int64))
        scale = g.op('Reshape', scale, scalar)
        zero_point = g.op('Reshape', zero_point, scalar)
        kwargs = {}
    else:
        kwargs = dict(axis_i=_const_int(axis))
    quantized = g.op('QuantizeLinear', inputs, scale, zero_point, **kwargs)
    output = g.op('DequantizeLinear', quantized, scale, zero_point, **kwargs)
    output.setType(inputs.type())
    return output


def _per_tensor_qdq(g, inputs, scale, zero_point, quant_min, quant_max):
    return _qdq(g, inputs, scale, zero_point, quant_min, quant_max)


def _per_channel_qdq(g, inputs, scale, zero_point, axis, quant_min,
                     quant_max):
    return _qdq(g, inputs, scale, zero_point, quant_min, quant_max, axis)


_SYMBOLICS = (('::fake_quantize_per_tensor_affine', _per_tensor_qdq),
              ('::fake_quantize_per_channel_affine', _per_channel_qdq))


@contextlib.contextmanager
def qdq_symbolics(opset: int = QDQ_OPSET) -> Iterator[None]:
    """Export fake-quantize ops as QuantizeLinear/DequantizeLinear inside.

    Overrides, for ``opset`` only, what PyTorch (which refuses ranges like
    [-127, 127]) and MMRazor (custom ``mmrazor::Fixed*Affine`` ops) register;
    their symbolics are back on exit.
    """
    for name, symbolic in _SYMBOLICS:
        register_custom_op_symbolic(name, symbolic, opset)
    try:
        yield
    finally:
        for name, _ in _SYMBOLICS:
            unregister_custom_op_symbolic(name, opset)


def deployable_graph(qat_model: nn.Module, mode: str = 'tensor') -> nn.Module:
    """A copy of the QAT model's ``mode`` graph ready for export.

    BN is folded into the convolutions, the weights are replaced by their
    fake-quantized values (their fake-quantize kept, so they export as
    DequantizeLinear of int8 weights), observers are off; fake quantization
    stays on. Outputs equal the QAT model's in eval mode.

    Raises:
        UncalibratedModelError: the graph's observers never saw data, so its
            scales are MMRazor's initial 1 (see
            :func:`~qd_plugin.quantization.calibration.check_calibrated`).
    """
    from mmengine.model import is_model_wrapper
    from torch.ao.quantization import disable_observer, enable_fake_quant

    from ..quantization import observed_graph
    from ..quantization.calibration import check_calibrated
    unwrapped = qat_model.module if is_model_wrapper(qat_model) else qat_model
    check_calibrated(observed_graph(unwrapped, mode), mode)
    graph = copy.deepcopy(observed_graph(unwrapped, mode)).cpu().eval()
    graph.apply(disable_observer)
    graph.apply(enable_fake_quant)
    quantizer = copy.deepcopy(unwrapped.quantizer)
    quantizer.post_process_for_deploy(
        graph,
        device='cpu',
        keep_w_fake_quant=True,
        update_weight_with_fakequant=True)
    graph.apply(disable_observer)
    return graph.eval()


def fold_weight_quantization(model) -> int:
    """Store quantized constants (the weights) as int8/uint8 initializers.

    The exporter writes ``QuantizeLinear(float weight) -> DequantizeLinear``;
    the QuantizeLinear of a constant is computed here (round half to even
    and saturate, as ONNX defines it), so the file holds 8-bit weights and
    only DequantizeLinear remains before each convolution: what
    ``quantize_static`` writes too.

    Args:
        model (onnx.ModelProto): Changed in place.

    Returns:
        int: How many QuantizeLinear nodes were folded.
    """
    import numpy as np
    from onnx import numpy_helper
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    # The exporter shares equal constants through Identity nodes.
    for node in graph.node:
        if node.op_type == 'Identity' and node.input[0] in initializers:
            initializers[node.output[0]] = initializers[node.input[0]]
    folded = []
    for node in graph.node:
        if node.op_type != 'QuantizeLinear' or len(node.input) < 3 or \
                not all(name in initializers for name in node.input[:3]):
            continue
        weight, scale, zero_point = (
            numpy_helper.to_array(initializers[name])
            for name in node.input[:3])
        axis = next((a.i for a in node.attribute if a.name == 'axis'), 1)
        if scale.size > 1:  # per channel along `axis`
            shape = [1] * weight.ndim
            shape[axis] = -1
            scale = scale.reshape(shape)
            zero_point = zero_point.reshape(shape)
        info = np.iinfo(zero_point.dtype)
        quantized = np.rint(weight.astype(np.float32) /
                            scale.astype(np.float32)) + zero_point
        quantized = np.clip(quantized, info.min, info.max).astype(
            zero_point.dtype)
        graph.initializer.append(
            numpy_helper.from_array(quantized, node.output[0]))
        folded.append(node)
    for node in folded:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    used |= {output.name for output in graph.output}
    for tensor in list(graph.initializer):
        if tensor.name not in used:
            graph.initializer.remove(tensor)
    return len(folded)


class ScoresOf(nn.Module):
    """A logits graph followed by the head's ``average_clip`` (softmax and
    mean over each sample's clips for ``average_clips='prob'``): the output
    the float export has, (N, num_classes)."""

    def __init__(self, logits_model: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.logits_model = logits_model
        self.head = head

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return average_clip_scores(self.head, self.logits_model(inputs),
                                   inputs.shape[0])


def export_qdq_onnx(qat_model: nn.Module,
                    example_inputs: torch.Tensor,
                    path: str,
                    input_names: Sequence[str] = ('input', ),
                    output_names: Sequence[str] = ('output', ),
                    dynamic_axes: Optional[dict] = None,
                    class_scores: bool = True,
                    cleanup: bool = True) -> str:
    """Export a QAT recognizer as a QDQ int8 ONNX model.

    Args:
        qat_model (nn.Module): An ``MMArchitectureQuant`` (or wrapper).
        example_inputs (torch.Tensor): Preprocessed clips
            (N, num_clips, C, T, H, W) to trace with.
        path (str): The ``.onnx`` file to write.
        class_scores (bool): End with the head's ``average_clip`` (float), so
            the graph outputs what the float export does, class scores
            (N, num_classes); else the logits (N * num_clips, num_classes).
        cleanup (bool): Clean the graph with
            :func:`~.graph_cleanup.cleanup_graph` (same outputs, smaller
            file, faster in OpenVINO). Defaults to True.

    Returns:
        str: ``path``.
    """
    from mmengine.model import is_model_wrapper
    model = deployable_graph(qat_model)
    if class_scores:
        unwrapped = qat_model.module if is_model_wrapper(
            qat_model) else qat_model
        model = ScoresOf(model, unwrapped.architecture.cls_head).eval()
    with qdq_symbolics(), torch.no_grad():
        torch.onnx.export(
            model, (example_inputs.cpu(), ),
            path,
            dynamo=False,
            opset_version=QDQ_OPSET,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
            do_constant_folding=True)
    import onnx
    onnx_model = onnx.load(path)
    fold_weight_quantization(onnx_model)
    if cleanup:
        from .graph_cleanup import cleanup_graph
        cleanup_graph(onnx_model)  # checks the model too
    else:
        onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, path)
    return path
