"""One small interface over the runtimes a deployed recognizer runs in.

Each runtime maps the exported graph's input, a float32 array
(N, num_clips, C, T, H, W), to the class scores (N, num_classes) and knows the
files it was loaded from (for the size on disk): eager PyTorch, PyTorch's int8
model of a QAT recognizer, ONNX Runtime and OpenVINO.
"""
import io
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch


def files_size_mb(files: Sequence[str]) -> float:
    """Total size of ``files`` in MB (10**6 bytes)."""
    return sum(osp.getsize(f) for f in files) / 1e6


class Runtime:
    """A loaded model. Subclasses set ``name``, ``files`` and ``__call__``."""

    name = 'runtime'
    files: List[str] = []
    batch_dynamic = True

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def size_mb(self) -> float:
        return files_size_mb(self.files)

    def run_batched(self, inputs: np.ndarray) -> np.ndarray:
        """Run a batch, one sample at a time if the batch axis is static."""
        if self.batch_dynamic or inputs.shape[0] == 1:
            return self(inputs)
        return np.concatenate([self(inputs[i:i + 1])
                               for i in range(inputs.shape[0])])


class TorchRuntime(Runtime):
    """An eager PyTorch recognizer in predict mode (``average_clip`` applied,
    as in the exported graph).

    Args:
        model (nn.Module): The recognizer, in eval mode.
        size_file (str, optional): A file whose size is reported; defaults to
            the size of the serialized state dict.
    """

    name = 'torch'

    def __init__(self, model: torch.nn.Module,
                 size_file: Optional[str] = None) -> None:
        self.model = model.eval()
        self.files = [size_file] if size_file else []

    @property
    def size_mb(self) -> float:
        if self.files:
            return files_size_mb(self.files)
        buffer = io.BytesIO()
        torch.save(self.model.state_dict(), buffer)
        return buffer.tell() / 1e6

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return predict_scores(self.model, torch.from_numpy(inputs)).numpy()


def average_clip_scores(head: torch.nn.Module, logits: torch.Tensor,
                        num_samples: int) -> torch.Tensor:
    """The head's ``average_clip`` of per-clip logits (N * clips,
    num_classes) -> class scores (N, num_classes). Traced, the clip count
    follows the batch, so a dynamic batch axis stays dynamic."""
    return head.average_clip(
        logits, num_segs=logits.shape[0] // num_samples)


def predict_scores(model: torch.nn.Module,
                   inputs: torch.Tensor) -> torch.Tensor:
    """The recognizer's predicted class scores, (N, num_classes)."""
    from mmaction.structures import ActionDataSample
    with torch.no_grad():
        samples = model(inputs, [ActionDataSample()
                                 for _ in range(inputs.shape[0])],
                        mode='predict')
    return torch.stack([sample.pred_scores.item for sample in samples])


#: PyTorch's quantized engines worth comparing on x86 CPUs.
TORCH_INT8_ENGINES = ('x86', 'fbgemm')


class _ScriptedClassifierRuntime(Runtime):
    """A TorchScript ``clips -> logits`` module (``self.module``) run with
    its quantized engine (``self.engine``); the head's ``average_clip``
    (``self.head``) turns the logits into class scores."""

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        from ..quantization import quantized_engine
        clips = torch.from_numpy(inputs)
        with quantized_engine(self.engine), torch.no_grad():
            logits = self.module(clips)
            return average_clip_scores(self.head, logits,
                                       clips.shape[0]).numpy()


class TorchInt8Runtime(_ScriptedClassifierRuntime):
    """PyTorch's int8 model of a QAT recognizer (``convert_fx``, traced to
    frozen TorchScript as ``QATInt8TestLoop`` saves it) on one quantized
    engine, giving class scores like the exported graphs.

    Args:
        qat_model (nn.Module): The ``MMArchitectureQuant``.
        example_inputs (torch.Tensor): Clips to trace with.
        engine (str): ``torch.backends.quantized.engine`` for the weights and
            the kernels, e.g. ``'x86'`` or ``'fbgemm'``.
    """

    name = 'torch'

    def __init__(self, qat_model: torch.nn.Module,
                 example_inputs: torch.Tensor, engine: str = 'x86') -> None:
        from ..quantization import (Int8Classifier, convert_to_int8,
                                    export_torchscript)
        from ..quantization.int8 import torchscript_bytes
        self.engine = engine
        self.head = qat_model.architecture.cls_head
        int8_model = Int8Classifier(
            convert_to_int8(qat_model, 'tensor', engine))
        self.module = export_torchscript(
            int8_model, example_inputs, engine=engine)
        self._size = len(torchscript_bytes(self.module))

    @property
    def size_mb(self) -> float:
        return self._size / 1e6


class TorchScriptRuntime(_ScriptedClassifierRuntime):
    """A saved TorchScript classifier, e.g. the int8 model ``tools/test.py``
    saves (``<work_dir>/int8_model.pt``): preprocessed clips (N, num_clips,
    C, T, H, W) in, logits (N * num_clips, num_classes) out; the head's
    ``average_clip`` turns them into class scores like the exported graphs.

    Args:
        path (str): The ``.pt`` file.
        head (nn.Module): The recognizer's head (for ``average_clip``).
        engine (str): Quantized engine (``torch.backends.quantized.engine``)
            to load and run with. Defaults to ``'x86'``.
    """

    name = 'torchscript'

    def __init__(self, path: str, head: torch.nn.Module,
                 engine: str = 'x86') -> None:
        from ..quantization import load_torchscript
        loaded = load_torchscript(path, engine)
        self.module, self.meta = loaded['model'], loaded['meta']
        self.head = head
        self.engine = engine
        self.files = [path]


class OnnxRuntime(Runtime):
    """An ONNX model in ONNX Runtime's CPU execution provider.

    Args:
        path (str): The ``.onnx`` file.
        threads (int, optional): Intra-op threads; default: ORT's choice.
        spinning (bool): Let idle worker threads spin. Off by default so that
            runtimes interleaved in one benchmark do not steal each other's
            cores.
    """

    name = 'onnxruntime'

    def __init__(self, path: str, threads: Optional[int] = None,
                 spinning: bool = False) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.add_session_config_entry('session.intra_op.allow_spinning',
                                         '1' if spinning else '0')
        self.session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.batch_dynamic = not isinstance(
            self.session.get_inputs()[0].shape[0], int)
        self.files = [path] + _external_data_files(path)

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: inputs})[0]


def _external_data_files(onnx_path: str) -> List[str]:
    """Files next to an ONNX model holding its external tensor data."""
    import onnx
    model = onnx.load(onnx_path, load_external_data=False)
    locations = set()
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == 'location':
                locations.add(osp.join(osp.dirname(onnx_path), entry.value))
    return sorted(locations)


class OpenVINORuntime(Runtime):
    """An OpenVINO IR (``.xml`` + ``.bin``) or ONNX model on the CPU plugin.

    Args:
        path (str): The ``.xml`` (or ``.onnx``) file.
        threads (int, optional): ``INFERENCE_NUM_THREADS``.
        precision (str): ``INFERENCE_PRECISION_HINT``. Defaults to ``'f32'``:
            on CPUs with bf16 support OpenVINO would otherwise run float
            models in bf16.
        pinning (bool): ``ENABLE_CPU_PINNING``. Off by default: pinned
            worker threads cannot move off a core another process (or
            another runtime in the same benchmark) is using; on the shared
            2-core test machine pinning made OpenVINO and the PyTorch rows
            interleaved with it slower and noisier.
        perf_count (bool): ``PERF_COUNT``: collect per-layer times, read with
            :meth:`profiling_info` after a call (costs a little time).
    """

    name = 'openvino'

    def __init__(self,
                 path: str,
                 threads: Optional[int] = None,
                 precision: str = 'f32',
                 pinning: bool = False,
                 perf_count: bool = False) -> None:
        import openvino as ov
        config: Dict[str, str] = {
            'PERFORMANCE_HINT': 'LATENCY',
            'NUM_STREAMS': '1',
            'ENABLE_CPU_PINNING': 'YES' if pinning else 'NO',
            'INFERENCE_PRECISION_HINT': precision,
            'PERF_COUNT': 'YES' if perf_count else 'NO',
        }
        if threads:
            config['INFERENCE_NUM_THREADS'] = str(threads)
        core = ov.Core()
        model = core.read_model(path)
        self.batch_dynamic = model.inputs[0].get_partial_shape()[0].is_dynamic
        self.compiled = core.compile_model(model, 'CPU', config)
        self.request = self.compiled.create_infer_request()
        self.files = [path]
        weights = osp.splitext(path)[0] + '.bin'
        if path.endswith('.xml') and osp.isfile(weights):
            self.files.append(weights)

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        self.request.infer({0: inputs})
        return self.request.get_output_tensor(0).data.copy()

    def profiling_info(self) -> list:
        """Per-layer ``openvino.ProfilingInfo`` of the last call (needs
        ``perf_count``): compiled layer name, type, kernel, time."""
        return list(self.request.profiling_info)


def set_torch_threads(threads: Optional[int]) -> None:
    """Set PyTorch's intra-op threads (no-op for None)."""
    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault('OMP_NUM_THREADS', str(threads))
