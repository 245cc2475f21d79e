"""Run the shape ops that share their input's quantization on int8 tensors.

``convert_fx`` lowers a fixed list of ops (``torch.flatten``, ``view``,
``reshape``, pooling, ...) to their quantized form; any other op, also one
the backend config declares as sharing its input's quantization
(:data:`~qd_plugin.quantization.fusion.SHARE_QPARAMS_OPS`), stays as
``dequantize -> op -> quantize_per_tensor``, a float island around an op
that works on quantized tensors as it is. :func:`lower_shared_qparams_ops`
removes those pairs.
"""
import operator

import torch
import torch.nn.functional as F
from torch.fx import GraphModule, Node

#: The ops lowered here: ``(op, target)`` of their FX nodes.
LOWERED_OPS = (('call_method', 'flatten'), ('call_method', 'unflatten'),
               ('call_function', operator.getitem), ('call_function', F.pad))


def _is_dequantize(node) -> bool:
    return isinstance(node, Node) and node.op == 'call_method' and \
        node.target == 'dequantize'


def _is_quantize(node: Node) -> bool:
    return node.op == 'call_function' and \
        node.target is torch.quantize_per_tensor


def lower_shared_qparams_ops(model: GraphModule) -> int:
    """Replace ``quantize(op(dequantize(x)))`` by ``op(x)`` for the ops of
    :data:`LOWERED_OPS`, in place.

    The backend config makes these ops share their input's observer, so the
    quantize after the op has the input's scale and zero point and the
    replacement computes the same values (the ops only move, select or
    zero-pad elements).

    Args:
        model (GraphModule): An int8 model from ``convert_fx``.

    Returns:
        int: How many ops now run on quantized tensors.
    """
    graph = model.graph
    lowered = 0
    for quantize in list(graph.nodes):
        if not _is_quantize(quantize):
            continue
        op = quantize.args[0]
        if not isinstance(op, Node) or (op.op, op.target) not in LOWERED_OPS \
                or len(op.users) != 1 or not op.args or \
                not _is_dequantize(op.args[0]):
            continue
        dequantize = op.args[0]
        with graph.inserting_after(op):
            quantized_op = graph.create_node(
                op.op, op.target, (dequantize.args[0], ) + tuple(op.args[1:]),
                dict(op.kwargs))
        quantize.replace_all_uses_with(quantized_op)
        graph.erase_node(quantize)
        graph.erase_node(op)
        if not dequantize.users:
            graph.erase_node(dequantize)
        lowered += 1
    if lowered:
        graph.eliminate_dead_code()
        model.recompile()
    return lowered
