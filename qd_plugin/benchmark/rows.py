"""The benchmark's rows (see :mod:`.core`), registered in table order.

Builders (``--rows``) and the keys of the rows they make (``key`` in the
results):

* ``torch_fp32``, ``onnxruntime_fp32``, ``openvino_fp32``: the float model
  (one row each, keyed like the builder).
* ``peer_ort_ptq``: ONNX Runtime ``quantize_static`` QDQ int8 of the float
  ONNX, run in OpenVINO and in ONNX Runtime (the baseline a user would pick):
  ``peer_ort_ptq_openvino``, ``peer_ort_ptq_onnxruntime``; and
  ``peer_ort_ptq_u8``: the same with u8 activations (the best peer for
  OpenVINO): ``peer_ort_ptq_u8_openvino``, ``peer_ort_ptq_u8_onnxruntime``.
* With a quantization-aware trained model (``ctx.qat_model``, else no row):
  ``torch_int8_qat`` (PyTorch int8 on each engine:
  ``torch_int8_qat_x86``, ``torch_int8_qat_fbgemm``) and ``qdq_int8_qat``
  (our QDQ ONNX export of it in OpenVINO, from the ONNX file and from the
  OpenVINO IR the MMDeploy SDK loads, and in ONNX Runtime:
  ``qdq_int8_qat_openvino``, ``qdq_int8_qat_openvino_ir``,
  ``qdq_int8_qat_onnxruntime``).

Each row's ``size_of`` names what its size is of: the files the runtime
loaded, or how PyTorch serializes the model.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch

from ..deploy.openvino_ir import convert_to_openvino
from ..deploy.qdq import export_qdq_onnx
from ..deploy.runtimes import (TORCH_INT8_ENGINES, OnnxRuntime,
                               OpenVINORuntime, TorchInt8Runtime,
                               TorchRuntime, average_clip_scores)
from .core import TORCH_FP32, BenchCase, BenchContext, register_rows

#: The key of PyTorch's int8 row, the reference of the QAT model's exports.
TORCH_INT8_X86 = 'torch_int8_qat_x86'


def torch_scores(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """What the exported graph computes, in eager PyTorch: features, head and
    ``average_clip`` (no data-sample bookkeeping)."""
    feats, kwargs = model.extract_feat(inputs, test_mode=True)
    return average_clip_scores(model.cls_head, model.cls_head(feats, **kwargs),
                               inputs.shape[0])


def _source(path: Optional[str]) -> str:
    if not path:
        return 'initialised weights'
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative


def _files(files: Sequence[str]) -> str:
    """``size_of`` of a runtime: its files' names."""
    return ' + '.join(osp.basename(f) for f in files)


@register_rows('torch_fp32')
def torch_fp32_rows(ctx: BenchContext) -> List[BenchCase]:
    model = ctx.model

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch_scores(model, torch.from_numpy(x)).numpy()

    size = TorchRuntime(model).size_mb  # the state dict, not optimizer etc.
    return [
        BenchCase('torch', 'fp32', _source(ctx.checkpoint), run, size,
                  'eager', size_of='state_dict (torch.save)', key=TORCH_FP32)
    ]


@register_rows('onnxruntime_fp32')
def ort_fp32_rows(ctx: BenchContext) -> List[BenchCase]:
    runtime = OnnxRuntime(ctx.float_onnx(), ctx.threads)
    return [
        BenchCase('onnxruntime', 'fp32', _source(ctx.float_onnx()), runtime,
                  runtime.size_mb, size_of=_files(runtime.files),
                  key='onnxruntime_fp32')
    ]


@register_rows('openvino_fp32')
def openvino_fp32_rows(ctx: BenchContext) -> List[BenchCase]:
    xml = _find(ctx.deploy_dir, '.xml')
    if xml is None:  # no OpenVINO deploy: convert the ONNX here
        xml = convert_to_openvino(
            ctx.float_onnx(), osp.join(ctx.work_dir, 'openvino_fp32.xml'))
    runtime = _openvino(ctx, xml)
    return [
        BenchCase('openvino', 'fp32', _source(xml), runtime, runtime.size_mb,
                  size_of=_files(runtime.files), key='openvino_fp32')
    ]


def _peer_rows(ctx: BenchContext, activations: str) -> List[BenchCase]:
    from .ptq import quantize_onnx_static
    suffix = '' if activations == 's8' else f'_{activations}'
    qdq = osp.join(ctx.work_dir, f'peer_ort_ptq{suffix}_qdq.onnx')
    quantize_onnx_static(ctx.float_onnx(), qdq, ctx.calibration,
                         activations=activations)
    source = (f'{_source(qdq)} (ORT quantize_static QDQ {activations}s8 '
              f'per-channel, {len(ctx.calibration)} calibration clips)')
    precision = ('int8 (peer: ORT PTQ)' if activations == 's8' else
                 f'int8 (peer: ORT PTQ, {activations} activations)')
    in_openvino = _openvino(ctx, qdq)
    in_ort = OnnxRuntime(qdq, ctx.threads)
    key = f'peer_ort_ptq{suffix}'
    return [
        BenchCase('openvino', precision, source, in_openvino,
                  in_openvino.size_mb, size_of=_files(in_openvino.files),
                  key=f'{key}_openvino'),
        BenchCase('onnxruntime', precision, source, in_ort, in_ort.size_mb,
                  size_of=_files(in_ort.files), key=f'{key}_onnxruntime'),
    ]


@register_rows('peer_ort_ptq')
def peer_ptq_rows(ctx: BenchContext) -> List[BenchCase]:
    """The peer with ONNX Runtime's default settings (s8 activations)."""
    return _peer_rows(ctx, 's8')


@register_rows('peer_ort_ptq_u8')
def peer_ptq_u8_rows(ctx: BenchContext) -> List[BenchCase]:
    """The peer tuned for OpenVINO: u8 activations, which its int8
    depthwise kernels take (with s8 they fall back to fp32)."""
    return _peer_rows(ctx, 'u8')


@register_rows('torch_int8_qat')
def torch_int8_qat_rows(ctx: BenchContext) -> List[BenchCase]:
    """The QAT model converted to PyTorch int8 (frozen TorchScript, as
    ``QATInt8TestLoop`` saves it), one row per quantized engine."""
    if ctx.qat_model is None:
        return []
    example = torch.from_numpy(ctx.inputs[:1])
    cases = []
    for engine in TORCH_INT8_ENGINES:
        if engine not in torch.backends.quantized.supported_engines:
            continue
        runtime = TorchInt8Runtime(ctx.qat_model, example, engine)
        cases.append(
            BenchCase(
                'torch',
                f'int8 (QAT, {engine})',
                _source(ctx.qat_checkpoint),
                runtime,
                runtime.size_mb,
                'TorchScript',
                TORCH_INT8_X86
                if engine != TORCH_INT8_ENGINES[0] else TORCH_FP32,
                size_of='TorchScript (torch.jit.save)',
                key=f'torch_int8_qat_{engine}'))
    return cases


@register_rows('qdq_int8_qat')
def qdq_int8_qat_rows(ctx: BenchContext) -> List[BenchCase]:
    """Our QDQ ONNX export of the QAT model: in OpenVINO read from the ONNX
    file (the smallest artifact) and from the OpenVINO IR converted from it
    (what ``tools/deploy.py`` writes for the MMDeploy SDK), and in ONNX
    Runtime."""
    if ctx.qat_model is None:
        return []
    onnx_path = export_qdq_onnx(ctx.qat_model,
                                torch.from_numpy(ctx.inputs[:1]),
                                osp.join(ctx.work_dir, 'qat_qdq.onnx'))
    xml = convert_to_openvino(onnx_path)
    in_openvino = _openvino(ctx, onnx_path)
    from_ir = _openvino(ctx, xml)
    in_ort = OnnxRuntime(onnx_path, ctx.threads)
    source = (f'{_source(onnx_path)} (QDQ export of '
              f'{_source(ctx.qat_checkpoint)})')
    return [
        BenchCase('openvino', 'int8 (QAT, QDQ)', source, in_openvino,
                  in_openvino.size_mb, 'read from ONNX',
                  agreement_with=TORCH_INT8_X86,
                  size_of=_files(in_openvino.files),
                  key='qdq_int8_qat_openvino'),
        BenchCase('openvino', 'int8 (QAT, QDQ, IR)',
                  f'{_source(xml)} (OpenVINO IR of {_source(onnx_path)})',
                  from_ir, from_ir.size_mb, 'OpenVINO IR (MMDeploy SDK)',
                  agreement_with=TORCH_INT8_X86,
                  size_of=_files(from_ir.files),
                  key='qdq_int8_qat_openvino_ir'),
        BenchCase('onnxruntime', 'int8 (QAT, QDQ)', source, in_ort,
                  in_ort.size_mb, agreement_with=TORCH_INT8_X86,
                  size_of=_files(in_ort.files),
                  key='qdq_int8_qat_onnxruntime'),
    ]


def _openvino(ctx: BenchContext, path: str) -> OpenVINORuntime:
    """A model in OpenVINO in fp32 precision (not bf16), per-layer times
    collected when the context asks for them."""
    return OpenVINORuntime(path, ctx.threads, precision='f32',
                           perf_count=ctx.openvino_perf_count)


def _find(folder: Optional[str], ext: str) -> Optional[str]:
    if not folder:
        return None
    names = sorted(n for n in os.listdir(folder) if n.endswith(ext))
    preferred = [n for n in names if n.startswith('end2end')]
    names = preferred or names
    return osp.join(folder, names[0]) if names else None
