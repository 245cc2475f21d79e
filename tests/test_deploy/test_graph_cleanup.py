"""Clean-up passes of the QDQ export on a small hand-made graph: the same
outputs (bit for bit), less graph."""
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from qd_plugin.deploy.graph_cleanup import (cleanup_graph,
                                            remove_requantization)

SCALE, ZERO_POINT = 0.05, 128


def constant(name: str, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def qdq_conv_model(second_scale: float = SCALE) -> onnx.ModelProto:
    """x (1, 1, 2, 4, 4) -> Q/DQ -> Reshape (1, 2, 4, 4) -> Q/DQ (scale
    ``second_scale``) -> Conv (int8 weights, the zero point through an
    Identity) -> Relu -> Identity -> ``scores``; plus an unused constant, a
    duplicate one, doc strings and default attributes, as the TorchScript
    exporter leaves them."""
    rng = np.random.default_rng(0)
    weight = rng.integers(-127, 128, (3, 2, 3, 3)).astype(np.int8)
    initializers = [
        constant('in_scale', SCALE),
        constant('in_scale_copy', SCALE),
        constant('in_zero_point', ZERO_POINT, np.uint8),
        constant('again_scale', second_scale),
        constant('again_zero_point', ZERO_POINT, np.uint8),
        constant('shape', [1, 2, 4, 4], np.int64),
        numpy_helper.from_array(weight, 'weight_int8'),
        constant('weight_scale', [0.01, 0.02, 0.03]),
        constant('weight_zero_point', [0, 0, 0], np.int8),
        constant('bias', [0.1, -0.2, 0.3]),
        constant('unused', np.ones(8)),
    ]
    nodes = [
        helper.make_node('QuantizeLinear', ['x', 'in_scale', 'in_zero_point'],
                         ['/model/input_quant/QuantizeLinear_output_0']),
        helper.make_node(
            'DequantizeLinear', [
                '/model/input_quant/QuantizeLinear_output_0', 'in_scale_copy',
                'in_zero_point'
            ], ['/model/input_quant/DequantizeLinear_output_0'],
            doc_string='exported from fake_quantize_per_tensor_affine'),
        helper.make_node(
            'Reshape',
            ['/model/input_quant/DequantizeLinear_output_0', 'shape'],
            ['reshaped']),
        helper.make_node('QuantizeLinear',
                         ['reshaped', 'again_scale', 'again_zero_point'],
                         ['q_again']),
        helper.make_node('DequantizeLinear',
                         ['q_again', 'again_scale', 'again_zero_point'],
                         ['dq_again']),
        helper.make_node('Identity', ['weight_zero_point'], ['zp_copy']),
        helper.make_node(
            'DequantizeLinear', ['weight_int8', 'weight_scale', 'zp_copy'],
            ['weight'],
            axis=0),
        helper.make_node(
            'Conv', ['dq_again', 'weight', 'bias'], ['conv'],
            name='/model/backbone/conv/Conv',
            dilations=[1, 1],
            group=1,
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[1, 1]),
        helper.make_node('Relu', ['conv'], ['relu']),
        helper.make_node('Identity', ['relu'], ['scores']),
    ]
    graph = helper.make_graph(
        nodes,
        'qdq',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT,
                                       [1, 1, 2, 4, 4])],
        [helper.make_tensor_value_info('scores', TensorProto.FLOAT,
                                       [1, 3, 4, 4])],
        initializers,
        doc_string='a graph')
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(model)
    return model


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(
        model.SerializeToString(), providers=['CPUExecutionProvider'])
    return session.run(None, {'x': x})[0]


def test_cleanup_keeps_the_outputs_and_shrinks_the_graph():
    model = qdq_conv_model()
    x = np.random.default_rng(1).normal(0, 2, (1, 1, 2, 4, 4)).astype(
        np.float32)
    before, size = run(model, x), model.ByteSize()

    stats = cleanup_graph(model)

    assert stats['identities'] == 2 and stats['requantizations'] == 1
    # 'unused' and the 2nd pair's scale and zero point; the input's scale
    # is shared by its QuantizeLinear and DequantizeLinear.
    assert stats['unused_initializers'] == 3
    assert stats['duplicate_initializers'] == 1
    assert stats['default_attributes'] == 3  # dilations, group, strides
    assert stats['doc_string_bytes'] > 0 and stats['name_bytes'] > 0
    np.testing.assert_array_equal(run(model, x), before)
    assert model.ByteSize() < size
    graph = model.graph
    ops = [n.op_type for n in graph.node]
    assert 'Identity' not in ops
    assert ops.count('QuantizeLinear') == 1
    assert ops.count('DequantizeLinear') == 2
    # Inputs and outputs keep their names; the Relu writes the output.
    assert [v.name for v in graph.input] == ['x']
    assert [v.name for v in graph.output] == ['scores']
    assert graph.node[-1].op_type == 'Relu'
    assert graph.node[-1].output[0] == 'scores'
    conv = next(n for n in graph.node if n.op_type == 'Conv')
    assert conv.name == 'Conv_0'
    assert sorted(a.name for a in conv.attribute) == ['kernel_shape', 'pads']
    assert 'unused' not in {t.name for t in graph.initializer}
    assert not graph.doc_string and not any(n.doc_string for n in graph.node)
    names = [n for node in graph.node for n in node.output]
    assert max(map(len, set(names) - {'scores'})) <= 2


def test_a_requantization_to_another_scale_stays():
    """Quantizing to another scale rounds: not a no-op, kept."""
    model = qdq_conv_model(second_scale=2 * SCALE)
    assert remove_requantization(model) == 0
    ops = [n.op_type for n in model.graph.node]
    assert ops.count('QuantizeLinear') == 2
