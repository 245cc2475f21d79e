"""True int8 models from quantization-aware trained (QAT) ones.

MMRazor's ``MMArchitectureQuant`` keeps one observed (fake-quantized)
``torch.fx`` graph per forward mode in ``qmodels``. The ``'tensor'`` graph of
a :class:`~qd_plugin.models.recognizers.TraceableRecognizer3D` is the whole
classifier (clips in, logits out); :func:`convert_to_int8` turns it into a
graph of quantized modules (``QuantizedConvReLU3d``, quantized ``Linear``)
with ``torch.ao.quantization.quantize_fx.convert_fx``, and
:func:`export_torchscript` saves that as a self-contained TorchScript file.
"""
import contextlib
import copy
import io
import json
from typing import Any, Dict, Iterator, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from torch.ao.quantization import disable_observer, enable_fake_quant
from torch.fx import GraphModule

from .calibration import check_calibrated
from .fusion import lower_shared_qparams_ops

#: Name of the metadata file inside the TorchScript archive.
META_FILE = 'meta.json'


@contextlib.contextmanager
def quantized_engine(engine: str) -> Iterator[None]:
    """Use ``engine`` for quantized kernels (and weight packing) inside.

    Args:
        engine (str): One of ``torch.backends.quantized.supported_engines``,
            e.g. ``'x86'`` (fastest for Conv3d on x86 CPUs) or ``'fbgemm'``.
    """
    if engine not in torch.backends.quantized.supported_engines:
        raise ValueError(f'quantized engine {engine!r} is not supported here; '
                         'supported: '
                         f'{torch.backends.quantized.supported_engines}')
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def observed_graph(model: nn.Module, mode: str = 'tensor') -> GraphModule:
    """The observed (fake-quantized) graph of a QAT model.

    Args:
        model (nn.Module): An ``MMArchitectureQuant`` (possibly wrapped, e.g.
            in ``MMArchitectureQuantDDP``) or an observed ``GraphModule``.
        mode (str): Which of the algorithm's ``qmodels``. Defaults to
            ``'tensor'`` (clips in, logits out).

    Returns:
        GraphModule: The graph itself, not a copy.
    """
    if is_model_wrapper(model):
        model = model.module
    qmodels = getattr(model, 'qmodels', None)
    if qmodels is not None:
        if mode not in qmodels:
            raise KeyError(f'the QAT model has no {mode!r} graph; it has '
                           f'{list(qmodels.keys())}')
        return qmodels[mode]
    if isinstance(model, GraphModule):
        return model
    raise TypeError('expected an MMArchitectureQuant or an observed '
                    f'GraphModule, got {type(model).__name__}')


def convert_to_int8(model: nn.Module,
                    mode: str = 'tensor',
                    engine: str = 'x86') -> GraphModule:
    """Convert a QAT model's observed graph into a true int8 model.

    The graph is copied to the CPU, put in eval mode with the observers off
    (the trained quantization parameters are used as they are) and converted
    with ``convert_fx``: every fused Conv3d+BN3d+ReLU becomes a quantized
    ``ConvReLU3d`` with BN folded in, the classifier a quantized ``Linear``;
    the input is quantized at the start and the logits dequantized at the
    end. Ops that only move or select elements (the shape ops of
    :data:`~qd_plugin.quantization.fusion.SHARE_QPARAMS_OPS`) run on the
    int8 tensors. The QAT model is left untouched.

    Args:
        model (nn.Module): See :func:`observed_graph`.
        mode (str): The graph to convert. Defaults to ``'tensor'``.
        engine (str): Quantized engine the weights are packed for.
            Defaults to ``'x86'``.

    Returns:
        GraphModule: The int8 model; called as ``model(inputs)`` with
        preprocessed clips it returns float logits.

    Raises:
        UncalibratedModelError: the graph's observers never saw data (see
            :func:`~qd_plugin.quantization.calibration.check_calibrated`).
    """
    from torch.ao.quantization.quantize_fx import convert_fx

    unwrapped = model.module if is_model_wrapper(model) else model
    quantizer = getattr(unwrapped, 'quantizer', None)
    check_calibrated(observed_graph(model, mode), mode)
    graph = copy.deepcopy(observed_graph(model, mode)).cpu().eval()
    graph.apply(enable_fake_quant)
    graph.apply(disable_observer)
    kwargs = {}
    if getattr(quantizer, 'backend_config', None) is not None:
        # The backend config the graph was prepared with.
        kwargs['backend_config'] = quantizer.backend_config
    with quantized_engine(engine):
        int8_model = convert_fx(graph, **kwargs)
    lower_shared_qparams_ops(int8_model)
    return int8_model.eval()


class Int8Classifier(nn.Module):
    """``clips -> logits`` around an int8 graph, the form that is exported.

    Args:
        int8_model (nn.Module): From :func:`convert_to_int8`.
    """

    def __init__(self, int8_model: nn.Module) -> None:
        super().__init__()
        self.int8_model = int8_model

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Logits of preprocessed clips.

        Args:
            clips (torch.Tensor): Float clips, normalized as the model's data
                preprocessor does, (N, num_clips, C, T, H, W).

        Returns:
            torch.Tensor: Logits, (N * num_clips, num_classes).
        """
        return self.int8_model(clips)


def export_torchscript(int8_model: nn.Module,
                       example_inputs: torch.Tensor,
                       path: Optional[Union[str, io.BytesIO]] = None,
                       meta: Optional[Dict[str, Any]] = None,
                       engine: str = 'x86') -> torch.jit.ScriptModule:
    """Trace an int8 model into frozen TorchScript and optionally save it.

    The saved file loads with plain ``torch.jit.load`` (no qd_plugin, no
    configs). It takes preprocessed float clips (N, num_clips, C, T, H, W)
    and returns logits (N * num_clips, num_classes); ``meta`` is stored in
    the archive as ``meta.json`` (read it with
    ``torch.jit.load(path, _extra_files={'meta.json': ''})``).

    Args:
        int8_model (nn.Module): From :func:`convert_to_int8` (or already an
            :class:`Int8Classifier`).
        example_inputs (torch.Tensor): A clip batch to trace with.
        path (str | io.BytesIO, optional): Where to save. Defaults to None
            (not saved).
        meta (dict, optional): JSON-serialisable metadata to store.
        engine (str): Quantized engine to trace with. Defaults to ``'x86'``.
            The weights are re-packed for the engine active when the file is
            loaded; select ``'x86'`` there too for speed.

    Returns:
        torch.jit.ScriptModule: The traced module.
    """
    if not isinstance(int8_model, Int8Classifier):
        int8_model = Int8Classifier(int8_model)
    with quantized_engine(engine), torch.no_grad():
        traced = torch.jit.trace(
            int8_model.eval(), example_inputs.cpu(), check_trace=False)
        # One flat graph with the packed weights as constants: no code and
        # debug records per submodule (~0.14 MB at width 0.5), same outputs.
        traced = torch.jit.freeze(traced)
    if path is not None:
        extra_files = {META_FILE: json.dumps(meta or {}, indent=2)}
        torch.jit.save(traced, path, _extra_files=extra_files)
    return traced


def load_torchscript(path: str,
                     engine: str = 'x86') -> Dict[str, Any]:
    """Load an exported int8 model and its metadata.

    Args:
        path (str): A file written by :func:`export_torchscript`.
        engine (str): Quantized engine to pack the weights for.
            Defaults to ``'x86'``.

    Returns:
        dict: ``model`` (torch.jit.ScriptModule) and ``meta`` (dict).
    """
    extra_files = {META_FILE: ''}
    with quantized_engine(engine):
        model = torch.jit.load(path, map_location='cpu',
                               _extra_files=extra_files)
    meta = json.loads(extra_files[META_FILE] or '{}')
    return dict(model=model, meta=meta)


def serialized_size(obj: Any) -> int:
    """Bytes ``torch.save(obj)`` writes, e.g. of a state dict."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.tell()


def torchscript_bytes(module: torch.jit.ScriptModule,
                      meta: Optional[Dict[str, Any]] = None) -> bytes:
    """What ``torch.jit.save(module)`` writes, with ``meta`` as in
    :func:`export_torchscript`."""
    buffer = io.BytesIO()
    torch.jit.save(
        module, buffer,
        _extra_files={META_FILE: json.dumps(meta or {}, indent=2)})
    return buffer.getvalue()


def int8_meta(model: nn.Module,
              input_shape: Sequence[int],
              engine: str = 'x86') -> Dict[str, Any]:
    """Metadata describing an exported recognizer's input and output.

    Args:
        model (nn.Module): The QAT ``MMArchitectureQuant`` (possibly
            wrapped).
        input_shape (Sequence[int]): The traced input shape.
        engine (str): The quantized engine. Defaults to ``'x86'``.

    Returns:
        dict: Input layout and normalization, output meaning, engine.
    """
    unwrapped = model.module if is_model_wrapper(model) else model
    preprocessor = getattr(unwrapped, 'data_preprocessor', None)
    meta: Dict[str, Any] = dict(
        input_layout='N, num_clips, C, T, H, W',
        input_shape=list(input_shape),
        input_dtype='float32',
        output='logits (N * num_clips, num_classes); softmax and average '
        'over the clips of a sample for class probabilities',
        quantized_engine=engine)
    for key in ('mean', 'std'):
        value = getattr(preprocessor, key, None)
        if isinstance(value, torch.Tensor):
            meta[f'input_{key}'] = value.flatten().tolist()
    if 'input_mean' in meta:
        meta['input_normalization'] = '(pixel - input_mean) / input_std, ' \
            'pixels in [0, 255], channels in the order the training ' \
            'pipeline decoded them (RGB with decord)'
    head = getattr(getattr(unwrapped, 'architecture', None), 'cls_head', None)
    if getattr(head, 'num_classes', None) is not None:
        meta['num_classes'] = int(head.num_classes)
    return meta
