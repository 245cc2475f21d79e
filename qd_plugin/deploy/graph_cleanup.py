"""Clean-up passes over an exported ONNX graph (QDQ int8 export).

Each pass rewrites an ``onnx.ModelProto`` in place, keeps the graph's inputs
and outputs (names, types) and what it computes, and returns how much it
changed. :func:`cleanup_graph` runs them all, in an order where each pass
leaves work for the next (e.g. dropping an Identity frees the initializer it
copied). What they remove is mostly bookkeeping of the TorchScript exporter:
Identity copies of shared constants, long scoped tensor and node names
(``/logits_model/activation_post_process_12/QuantizeLinear_output_0``),
attributes set to their default, unused constants, doc strings; and,
exactly, a QuantizeLinear/DequantizeLinear pair that re-applies
the quantization its input already has (a fake-quantize module called twice,
on both sides of a reshape).

Only the main graph is visited: the exporter writes no control flow
(``If``/``Loop``) for the recognizers here.
"""
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Set

import numpy as np

#: Ops that move values without changing them: a value on a quantization
#: grid stays on it. Not ``Flatten``, although it is one: ONNX Runtime runs
#: its int8 Gemm only for a DequantizeLinear -> Gemm, and a pair removed
#: across the head's Flatten (where the QAT graph re-quantizes the pooled
#: features with the same qparams) leaves DequantizeLinear -> Flatten ->
#: Gemm, a float Gemm with other outputs.
SHAPE_OPS = ('Reshape', 'Squeeze', 'Unsqueeze')


def _initializers(graph) -> Dict[str, object]:
    return {t.name: t for t in graph.initializer}


def _rename_inputs(graph, old: str, new: str) -> None:
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new


def _io_names(graph) -> Set[str]:
    return {v.name for v in graph.input} | {v.name for v in graph.output}


def remove_identities(model) -> int:
    """Remove ``Identity`` nodes, feeding their consumers the input.

    An Identity whose output is a graph output is removed too by renaming
    its input (a node's output) to the graph output's name; it stays if its
    input is a graph input, another graph output or an initializer.

    Args:
        model (onnx.ModelProto): Changed in place.

    Returns:
        int: How many nodes were removed.
    """
    graph = model.graph
    outputs = {v.name for v in graph.output}
    fixed = _io_names(graph) | set(_initializers(graph))
    removed = []
    for node in graph.node:
        if node.op_type != 'Identity':
            continue
        source, target = node.input[0], node.output[0]
        if target not in outputs:
            _rename_inputs(graph, target, source)
            for info in [v for v in graph.value_info if v.name == target]:
                graph.value_info.remove(info)
        elif source in fixed:
            continue
        else:  # the producer writes the graph output directly
            for other in graph.node:
                for i, name in enumerate(other.output):
                    if name == source:
                        other.output[i] = target
            _rename_inputs(graph, source, target)
            for info in graph.value_info:
                if info.name == source:
                    info.name = target
        removed.append(node)
    for node in removed:
        graph.node.remove(node)
    return len(removed)


def _array(initializers: Dict[str, object], name: str) -> Optional[np.ndarray]:
    from onnx import numpy_helper
    tensor = initializers.get(name)
    return None if tensor is None else numpy_helper.to_array(tensor)


def _same_quantization(initializers: Dict[str, object], first: Iterable[str],
                       second: Iterable[str]) -> bool:
    """Whether two (scale, zero point) input lists hold equal constants
    (dtype, shape and values)."""
    first, second = list(first), list(second)
    if len(first) != len(second) or len(first) < 2:
        return False
    for a_name, b_name in zip(first, second):
        a, b = _array(initializers, a_name), _array(initializers, b_name)
        if a is None or b is None or a.dtype != b.dtype or \
                a.shape != b.shape or not np.array_equal(a, b):
            return False
    return True


def _axis(node) -> int:
    return next((a.i for a in node.attribute if a.name == 'axis'), 1)


def remove_requantization(model) -> int:
    """Remove QuantizeLinear -> DequantizeLinear pairs that quantize a value
    already on their grid: the output of a DequantizeLinear with the same
    per-tensor scale and zero point, possibly moved by shape-only ops
    (:data:`SHAPE_OPS`) in between.

    Such a pair is an exact no-op (``round(((q - z) * s) / s) + z == q`` for
    8-bit ``q``), but each one is a pass over the tensor in the runtime: the
    QAT graph quantizes the clip before and again after its
    (N, clips, ...) -> (N * clips, ...) reshape, which OpenVINO ran as two
    FakeQuantize passes over the whole input.

    Args:
        model (onnx.ModelProto): Changed in place.

    Returns:
        int: How many pairs were removed.
    """
    graph = model.graph
    initializers = _initializers(graph)
    producer = {o: n for n in graph.node for o in n.output}
    consumers: Dict[str, List] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    outputs = {v.name for v in graph.output}
    removed = []
    for quant in graph.node:
        if quant.op_type != 'QuantizeLinear' or len(quant.input) < 3:
            continue
        scale = _array(initializers, quant.input[1])
        if scale is None or scale.size != 1:  # per channel: leave it
            continue
        dequants = consumers[quant.output[0]]
        if quant.output[0] in outputs or not dequants or any(
                d.op_type != 'DequantizeLinear' or d.output[0] in outputs or
                not _same_quantization(initializers, quant.input[1:3],
                                       d.input[1:3]) for d in dequants):
            continue
        source = producer.get(quant.input[0])
        while source is not None and source.op_type in SHAPE_OPS:
            source = producer.get(source.input[0])
        if source is None or source.op_type != 'DequantizeLinear' or \
                not _same_quantization(initializers, quant.input[1:3],
                                       source.input[1:3]):
            continue
        for dequant in dequants:
            _rename_inputs(graph, dequant.output[0], quant.input[0])
            removed.append(dequant)
        removed.append(quant)
    for node in removed:
        graph.node.remove(node)
    return len(removed) // 2


def remove_unused_initializers(model) -> int:
    """Drop initializers no node reads (and that are no graph output).

    Returns:
        int: How many were dropped.
    """
    graph = model.graph
    used = {name for node in graph.node for name in node.input}
    used |= {v.name for v in graph.output}
    unused = [t for t in graph.initializer if t.name not in used]
    for tensor in unused:
        graph.initializer.remove(tensor)
    # An initializer listed as a graph input too (old exporters) goes along.
    names = {t.name for t in unused}
    for value in [v for v in graph.input if v.name in names]:
        graph.input.remove(value)
    return len(unused)


def dedupe_initializers(model, max_bytes: int = 4096) -> int:
    """Share initializers of equal type, shape and bytes (up to
    ``max_bytes``, e.g. the scales and zero points every quantized
    activation repeats).

    Returns:
        int: How many duplicates were dropped.
    """
    graph = model.graph
    inputs = {v.name for v in graph.input}
    outputs = {v.name for v in graph.output}
    first: Dict[tuple, str] = {}
    duplicates = []
    for tensor in graph.initializer:
        if tensor.name in inputs | outputs or tensor.external_data or \
                tensor.ByteSize() > max_bytes:
            continue
        key = (tensor.data_type, tuple(tensor.dims),
               _array({tensor.name: tensor}, tensor.name).tobytes())
        if key in first:
            _rename_inputs(graph, tensor.name, first[key])
            duplicates.append(tensor)
        else:
            first[key] = tensor.name
    for tensor in duplicates:
        graph.initializer.remove(tensor)
    return len(duplicates)


#: Attributes equal to their ONNX default, dropped by
#: :func:`remove_default_attributes` (int lists match if all entries do).
DEFAULT_ATTRIBUTES = dict(
    Conv=dict(dilations=1, strides=1, pads=0, group=1),
    Gemm=dict(alpha=1.0, beta=1.0, transA=0, transB=0),
    Flatten=dict(axis=1))


def remove_default_attributes(model) -> int:
    """Drop attributes set to their default value (:data:`DEFAULT_ATTRIBUTES`),
    e.g. ``dilations=[1, 1, 1]`` on every convolution.

    Returns:
        int: How many attributes were dropped.
    """
    from onnx import helper
    dropped = 0
    for node in model.graph.node:
        defaults = DEFAULT_ATTRIBUTES.get(node.op_type)
        if not defaults or node.domain not in ('', 'ai.onnx'):
            continue
        for attribute in list(node.attribute):
            if attribute.name not in defaults:
                continue
            value = helper.get_attribute_value(attribute)
            values = value if isinstance(value, list) else [value]
            if values and all(v == defaults[attribute.name] for v in values):
                node.attribute.remove(attribute)
                dropped += 1
    return dropped


def strip_doc_strings(model) -> int:
    """Empty the doc strings of the model, graph, nodes and values.

    Returns:
        int: How many bytes of doc strings were dropped.
    """
    graph = model.graph
    items = [model, graph, *graph.node, *graph.input, *graph.output,
             *graph.value_info, *graph.initializer]
    stripped = 0
    for item in items:
        if item.doc_string:
            stripped += len(item.doc_string)
            item.doc_string = ''
    return stripped


def shorten_names(model) -> int:
    """Give every node a short name (``<op type>_<i>``, e.g. ``Conv_3``,
    what runtimes' per-layer profiles show) and every intermediate tensor and
    initializer a short one (a base-36 number). DequantizeLinear nodes get
    none: runtimes fuse them into their consumer (a weight's into its
    convolution, an activation's into the next int8 kernel). The graph's
    inputs and outputs keep their names.

    Returns:
        int: How many bytes of names were saved.
    """
    graph = model.graph
    before = _name_bytes(graph)
    keep = _io_names(graph)
    mapping: Dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        if name not in mapping:
            mapping[name] = np.base_repr(len(mapping), 36).lower()
        return mapping[name]

    for tensor in graph.initializer:
        tensor.name = short(tensor.name)
    counts: Dict[str, int] = defaultdict(int)
    for node in graph.node:
        if node.op_type == 'DequantizeLinear':
            node.name = ''
        else:
            node.name = f'{node.op_type}_{counts[node.op_type]}'
            counts[node.op_type] += 1
        for i, name in enumerate(node.input):
            node.input[i] = short(name)
        for i, name in enumerate(node.output):
            node.output[i] = short(name)
    for info in graph.value_info:
        info.name = short(info.name)
    return before - _name_bytes(graph)


def _name_bytes(graph) -> int:
    total = sum(len(t.name) for t in graph.initializer)
    total += sum(len(v.name) for v in graph.value_info)
    for node in graph.node:
        total += len(node.name) + sum(map(len, node.input)) + sum(
            map(len, node.output))
    return total


def cleanup_graph(model, short_names: bool = True) -> Dict[str, int]:
    """Run every pass of this module over ``model`` and check the result
    with ``onnx.checker``.

    Args:
        model (onnx.ModelProto): Changed in place.
        short_names (bool): Also :func:`shorten_names`.

    Returns:
        dict: What each pass changed (counts, bytes), by pass name.
    """
    import onnx
    stats = dict(
        identities=remove_identities(model),
        requantizations=remove_requantization(model),
        default_attributes=remove_default_attributes(model))
    stats['unused_initializers'] = remove_unused_initializers(model)
    stats['duplicate_initializers'] = dedupe_initializers(model)
    stats['doc_string_bytes'] = strip_doc_strings(model)
    if short_names:
        stats['name_bytes'] = shorten_names(model)
    onnx.checker.check_model(model)
    return stats
