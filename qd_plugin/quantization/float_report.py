"""Which operations of an int8 model still compute in float."""
from typing import Any, List

import torch
from torch.fx import GraphModule, Interpreter, Node

#: Conversions between float and int8, and a no-op: not computations.
_CONVERSIONS = ('quantize_per_tensor', 'quantize_per_channel', 'dequantize',
                'Identity')


def _target_name(node: Node, model: GraphModule) -> str:
    if node.op == 'call_module':
        return type(model.get_submodule(node.target)).__name__
    if isinstance(node.target, str):
        return node.target
    return getattr(node.target, '__name__', str(node.target))


class _FloatOpRecorder(Interpreter):

    def __init__(self, model: GraphModule) -> None:
        super().__init__(model)
        self.float_ops: List[str] = []

    def run_node(self, node: Node) -> Any:
        result = super().run_node(node)
        if node.op not in ('call_module', 'call_function', 'call_method'):
            return result
        name = _target_name(node, self.module)
        if name in _CONVERSIONS or not isinstance(result, torch.Tensor) \
                or not result.is_floating_point():
            return result
        inputs = [
            self.env[arg] for arg in node.all_input_nodes
            if isinstance(self.env.get(arg), torch.Tensor)
        ]
        if any(t.is_floating_point() for t in inputs):
            self.float_ops.append(f'{node.name}: {name}')
        return result


def float_operations(int8_model: GraphModule,
                     example_inputs: torch.Tensor) -> List[str]:
    """The operations of an int8 model that compute on float tensors.

    The model runs once on ``example_inputs``; every module, function or
    method call with a float tensor among its inputs and a float result is
    listed, except the conversions themselves (``quantize_per_tensor``,
    ``dequantize``) and ``nn.Identity`` (e.g. a head's ``logits``, after
    the dequantization of the logits). A fully int8 model of a recognizer
    lists nothing: its input is quantized first and only its logits are
    dequantized.

    Args:
        int8_model (GraphModule): From
            :func:`~qd_plugin.quantization.convert_to_int8`.
        example_inputs (torch.Tensor): Preprocessed clips.

    Returns:
        list[str]: ``'<node>: <op>'`` in execution order, e.g.
        ``'backbone_layer1_0_swish_mul: mul'``.
    """
    recorder = _FloatOpRecorder(int8_model)
    with torch.no_grad():
        recorder.run(example_inputs)
    return recorder.float_ops
