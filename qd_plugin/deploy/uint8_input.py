"""A QDQ int8 export that takes the camera's uint8 frames directly.

The float-input export (:mod:`.qdq`) expects the normalised clip
``(x - mean) / std`` as float32 and quantizes it first (its input
QuantizeLinear, scale ``s``, zero point ``z``). A uint8 frame ``x`` is
already an 8-bit integer: with ``zero_point = round(mean)`` and
``scale = 1 / std`` a DequantizeLinear of the frame itself gives the
normalised value, shifted by ``delta = (round(mean) - mean) / std`` (0 for an
integer mean; ``0.5 / 127.5`` for the [-1, 1] scaling ``mean = std = 127.5``).
The shift is folded into the bias of the stem convolution (exact except where
the stem's zero padding meets the border), and a Clip on the uint8 frame
keeps the QAT input quantizer's range (values its grid saturates, e.g. pixels
above 248 for ``s = 0.00764, z = 131``). What remains different from the
float-input model is the QAT model's own rounding of the input to its grid,
which the uint8 model no longer does: the frame is exact on its grid (for a
trained model whose input range is [-1, 1], ``s * 127.5`` is close to 1 and
the two grids nearly coincide; for an input range calibrated elsewhere they
do not). The float conversion, normalisation and FakeQuantize of the whole
clip that OpenVINO ran before the stem are gone. This is the ``'frames'``
grid.

The ``'qat'`` grid keeps the QAT model's input rounding exactly:
``QuantizeLinear(float(x) - mean, s * std, z)`` then the original
DequantizeLinear, i.e. the Div by ``std`` folded into the quantization scale
(OpenVINO fuses the Convert, Subtract and FakeQuantize into one pass over
the frames): the float-input model's values up to float rounding.

Layouts: ``'NCTHW'`` takes (N, num_clips, C, T, H, W) uint8, the float
export's shape; ``'NTHWC'`` takes (N, T, H, W, C) uint8, the decoder's frames
stacked per sample (one clip each) and transposes them in the graph.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np

#: Input layouts of the uint8 export.
UINT8_LAYOUTS = ('NCTHW', 'NTHWC')
#: Which grid the stem's quantized input is on (see
#: :func:`fold_input_normalisation`).
GRIDS = ('frames', 'qat')

_SHAPE_OPS = ('Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity')


def normalisation_of(data_preprocessor) -> Tuple[np.ndarray, np.ndarray]:
    """The per-channel ``mean`` and ``std`` of an ``ActionDataPreprocessor``
    (float64 arrays of C values)."""
    mean = getattr(data_preprocessor, 'mean', None)
    std = getattr(data_preprocessor, 'std', None)
    if mean is None or std is None:
        raise ValueError(
            f'{type(data_preprocessor).__name__} does not normalise its '
            'input (no mean/std): there is nothing to fold')
    return (np.asarray(mean, np.float64).ravel(),
            np.asarray(std, np.float64).ravel())


def frames_to_inputs(frames: np.ndarray, layout: str = 'NCTHW') -> np.ndarray:
    """Decoded uint8 frames (N, T, H, W, C) -> the uint8 model's input."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 5:
        raise ValueError('frames must be uint8 (N, T, H, W, C), got '
                         f'{frames.dtype} {frames.shape}')
    if layout == 'NTHWC':
        return np.ascontiguousarray(frames)
    if layout == 'NCTHW':
        return np.ascontiguousarray(frames.transpose(0, 4, 1, 2, 3)[:, None])
    raise ValueError(f'layout must be one of {UINT8_LAYOUTS}, got {layout!r}')


def inputs_to_frames(inputs: np.ndarray, mean: Sequence[float],
                     std: Sequence[float]) -> np.ndarray:
    """The uint8 frames (N, T, H, W, C) a normalised float input
    (N, 1, C, T, H, W) was made from.

    Raises:
        ValueError: more than one clip per sample, or values that are not
            ``(uint8 - mean) / std``.
    """
    inputs = np.asarray(inputs, np.float64)
    if inputs.ndim != 6 or inputs.shape[1] != 1:
        raise ValueError('expected normalised clips (N, 1, C, T, H, W), got '
                         f'{inputs.shape}')
    shape = (1, -1, 1, 1, 1)
    pixels = inputs[:, 0] * np.reshape(std, shape) + np.reshape(mean, shape)
    frames = np.rint(pixels)
    if np.abs(frames - pixels).max(initial=0) > 1e-3 or frames.min(
            initial=0) < 0 or frames.max(initial=0) > 255:
        raise ValueError('the inputs are not normalised uint8 frames')
    return frames.astype(np.uint8).transpose(0, 2, 3, 4, 1)


def _consumers(graph, name: str) -> list:
    return [node for node in graph.node if name in node.input]


def _scalar(inits: dict, name: str) -> np.ndarray:
    from onnx import numpy_helper
    if name not in inits:
        raise ValueError(f'the input quantization parameter {name!r} is not '
                         'a constant')
    return numpy_helper.to_array(inits[name])


def _stem_conv(graph, value: str):
    """The first Conv fed by ``value`` through shape-only ops."""
    frontier = [value]
    while frontier:
        name = frontier.pop()
        for node in _consumers(graph, name):
            if node.op_type == 'Conv' and node.input[0] == name:
                return node
            if node.op_type in _SHAPE_OPS and node.input[0] == name:
                frontier.append(node.output[0])
    raise ValueError('no Conv follows the input quantization through '
                     'reshapes only: cannot fold the normalisation')


def _dequantized_weight(graph, inits: dict, name: str) -> np.ndarray:
    """A Conv weight: an initializer or DequantizeLinear of int8 ones."""
    from onnx import numpy_helper
    if name in inits:
        return numpy_helper.to_array(inits[name]).astype(np.float64)
    producer = next((n for n in graph.node if name in n.output), None)
    if producer is None or producer.op_type != 'DequantizeLinear':
        raise ValueError(f'the stem weight {name!r} is neither a constant '
                         'nor a DequantizeLinear of one')
    quantized, scale, zero_point = (
        numpy_helper.to_array(inits[i]).astype(np.float64)
        for i in producer.input[:3])
    axis = next((a.i for a in producer.attribute if a.name == 'axis'), 1)
    if scale.size > 1:
        shape = [1] * quantized.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return (quantized - zero_point) * scale


def _const(graph, name: str, array: np.ndarray) -> str:
    from onnx import numpy_helper
    graph.initializer.append(numpy_helper.from_array(array, name))
    return name


def fold_input_normalisation(model,
                             mean: Sequence[float],
                             std: Sequence[float],
                             layout: str = 'NCTHW',
                             grid: str = 'qat',
                             clip: bool = True):
    """Make a QDQ model's float input a uint8 frame input (in place).

    Args:
        model (onnx.ModelProto): A QDQ export whose graph input feeds a
            QuantizeLinear/DequantizeLinear pair, then reshapes, then the
            stem Conv (what :func:`.qdq.export_qdq_onnx` writes).
        mean, std (Sequence[float]): The normalisation of the recognizer's
            data preprocessor, per channel.
        layout (str): ``'NCTHW'`` (N, clips, C, T, H, W) or ``'NTHWC'``
            (N, T, H, W, C): one of :data:`UINT8_LAYOUTS`.
        grid (str): One of :data:`GRIDS`. Defaults to ``'qat'``.
            ``'frames'``: the frame is the
            stem's quantized input, dequantized with ``1 / std`` and zero
            point ``round(mean)``, the rest of the mean in the stem's bias
            (one mean and std for all channels). ``'qat'``: the QAT input
            quantizer's own grid, ``QuantizeLinear(float(x) - mean, s * std,
            z)``: the float model's values up to float rounding (one std for
            all channels).
        clip (bool): For the ``'frames'`` grid, clip the frame to the QAT
            input quantizer's range where it is narrower than uint8 (what
            the float model saturates).

    Returns:
        onnx.ModelProto: ``model``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    if layout not in UINT8_LAYOUTS:
        raise ValueError(
            f'layout must be one of {UINT8_LAYOUTS}, got {layout!r}')
    if grid not in GRIDS:
        raise ValueError(f'grid must be one of {GRIDS}, got {grid!r}')
    mean, std = np.ravel(mean).astype(np.float64), np.ravel(std).astype(
        np.float64)
    if np.ptp(std) > 0 or (grid == 'frames' and np.ptp(mean) > 0):
        raise ValueError(
            f'the channels are normalised differently (mean {mean.tolist()}, '
            f'std {std.tolist()}): the per-tensor input quantization takes '
            "one std (and, on the 'frames' grid, one mean) for all channels")
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    graph_input = graph.input[0]
    users = _consumers(graph, graph_input.name)
    if len(users) != 1 or users[0].op_type != 'QuantizeLinear':
        raise ValueError('the graph input does not feed one QuantizeLinear '
                         '(is this a QDQ export of a QAT model?)')
    quantize = users[0]
    dequantize = next((n for n in _consumers(graph, quantize.output[0])
                       if n.op_type == 'DequantizeLinear'), None)
    if dequantize is None or len(_consumers(graph, quantize.output[0])) != 1:
        raise ValueError('the input QuantizeLinear is not followed by one '
                         'DequantizeLinear')
    scale = float(_scalar(inits, quantize.input[1]))
    zero_point_array = _scalar(inits, quantize.input[2])
    info = np.iinfo(zero_point_array.dtype)
    zero_point = int(zero_point_array)

    nodes = []
    value = graph_input.name
    dims = [d.dim_value if d.HasField('dim_value') else d.dim_param
            for d in graph_input.type.tensor_type.shape.dim]
    if layout == 'NTHWC':
        if dims[1] != 1:
            raise ValueError('the NTHWC layout takes one clip per sample; '
                             f'the model input is {dims}')
        new_dims = [dims[0]] + dims[3:] + [dims[2]]
        axes = _const(graph, 'frames_unsqueeze_axes', np.array([1], np.int64))
        nodes += [
            helper.make_node('Transpose', [value], ['frames_ncthw'],
                             perm=[0, 4, 1, 2, 3], name='frames_to_ncthw'),
            helper.make_node('Unsqueeze', ['frames_ncthw', axes],
                             ['frames_clips'], name='frames_clips'),
        ]
        value = 'frames_clips'
    else:
        new_dims = dims

    if grid == 'qat':
        channel_mean = _const(graph, 'frames_mean',
                              mean.reshape(1, 1, -1, 1, 1, 1).astype(
                                  np.float32))
        step = _const(graph, 'frames_step',
                      np.array(scale * std[0], np.float32))
        nodes += [
            helper.make_node('Cast', [value], ['frames_float'],
                             to=TensorProto.FLOAT, name='frames_float'),
            helper.make_node('Sub', ['frames_float', channel_mean],
                             ['frames_centred'], name='frames_centred'),
            helper.make_node('QuantizeLinear',
                             ['frames_centred', step, quantize.input[2]],
                             ['frames_quantized'], name='frames_quantize'),
            helper.make_node('DequantizeLinear',
                             ['frames_quantized'] + list(quantize.input[1:3]),
                             [dequantize.output[0]],
                             name='frames_dequantize'),
        ]
    else:
        mean_value, std_value = float(mean[0]), float(std[0])
        # DQ(x) = (x - round(mean)) / std = normalised - delta.
        frame_zero_point = int(np.rint(mean_value))
        delta = (frame_zero_point - mean_value) / std_value
        stem = _stem_conv(graph, dequantize.output[0])
        weight = _dequantized_weight(graph, inits, stem.input[1])
        shift = (delta * weight.reshape(weight.shape[0], -1).sum(1)).astype(
            np.float32)
        bias = shift
        if len(stem.input) > 2 and stem.input[2]:
            bias = numpy_helper.to_array(inits[stem.input[2]]) + shift
            while len(stem.input) > 2:
                stem.input.pop()
        stem.input.append(_const(graph, 'stem_folded_bias',
                                 bias.astype(np.float32)))
        if clip:
            low = max(0, math.ceil(mean_value + std_value * scale *
                                   (info.min - zero_point) - 1e-6))
            high = min(255, math.floor(mean_value + std_value * scale *
                                       (info.max - zero_point) + 1e-6))
            if low > 0 or high < 255:
                bounds = [_const(graph, name, np.array(bound, np.uint8))
                          for name, bound in (('frames_low', low),
                                              ('frames_high', high))]
                nodes.append(helper.make_node(
                    'Clip', [value] + bounds, ['frames_clipped'],
                    name='frames_clip'))
                value = 'frames_clipped'
        nodes.append(helper.make_node(
            'DequantizeLinear', [
                value,
                _const(graph, 'frames_scale',
                       np.array(1 / std_value, np.float32)),
                _const(graph, 'frames_zero_point',
                       np.array(frame_zero_point, np.uint8))
            ], [dequantize.output[0]],
            name='frames_dequantize'))

    position = list(graph.node).index(quantize)
    for node in (quantize, dequantize):
        graph.node.remove(node)
    for offset, node in enumerate(nodes):
        graph.node.insert(position + offset, node)
    new_input = helper.make_tensor_value_info(graph_input.name,
                                              TensorProto.UINT8, new_dims)
    graph.input.remove(graph_input)
    graph.input.insert(0, new_input)
    used = {name for node in graph.node for name in node.input}
    for tensor in list(graph.initializer):
        if tensor.name not in used:
            graph.initializer.remove(tensor)
    onnx.checker.check_model(model)
    return model


def export_uint8_qdq_onnx(qat_model,
                          example_inputs,
                          path: str,
                          layout: str = 'NCTHW',
                          grid: str = 'qat',
                          clip: bool = True,
                          mean: Optional[Sequence[float]] = None,
                          std: Optional[Sequence[float]] = None,
                          **kwargs) -> str:
    """:func:`.qdq.export_qdq_onnx`, then :func:`fold_input_normalisation`
    with the recognizer's data preprocessor's mean and std (or the given
    ones). The model's input keeps its name; ``kwargs`` go to the
    export (``dynamic_axes`` of the float input's axes apply to the same
    axes of the NCTHW input).

    Returns:
        str: ``path``.
    """
    import onnx
    from mmengine.model import is_model_wrapper

    from .qdq import export_qdq_onnx
    if mean is None or std is None:
        unwrapped = qat_model.module if is_model_wrapper(
            qat_model) else qat_model
        mean, std = normalisation_of(
            unwrapped.architecture.data_preprocessor)
    export_qdq_onnx(qat_model, example_inputs, path, **kwargs)
    model = onnx.load(path)
    fold_input_normalisation(model, mean, std, layout, grid, clip)
    onnx.save(model, path)
    return path
