"""Deploy a quantization-aware trained (QAT) recognizer as QDQ int8 ONNX
(ONNX Runtime) and OpenVINO IR, checked against PyTorch's int8 model.

The QAT model is an MMRazor ``MMArchitectureQuant`` (``configs/qat_mbv3d*.py``)
loaded from its checkpoint. The exported graph takes the same input and gives
the same output as the float export (class scores after ``average_clip``);
the convolutions and the classifier run in int8.
"""
import copy
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from .parity import Parity, check_agreement, compare
from .runtimes import Runtime, average_clip_scores

#: PyTorch's quantized engines worth comparing on x86 CPUs.
TORCH_INT8_ENGINES = ('x86', 'fbgemm')
#: Default largest difference of log probabilities (or of scores, for heads
#: not averaging probabilities) counted as int8 rounding noise between two
#: int8 runtimes. Measured on 3D MobileNet: 0.05-0.25 between PyTorch int8,
#: ONNX Runtime and OpenVINO (a few steps of the logits' quantization);
#: 0.7-1.7 with shuffled or zeroed int8 weights.
INT8_ATOL = 0.4


def is_qat_config(model_cfg: Config) -> bool:
    """Whether the config's model is an MMRazor quantization algorithm
    (``MMArchitectureQuant`` or a subclass, e.g. ``QuantDistill``)."""
    model_type = model_cfg.model.get('type')
    if isinstance(model_type, type):
        model_class = model_type
    else:
        import mmrazor.models  # noqa: F401  (registers the algorithms)
        from mmrazor.registry import MODELS

        import qd_plugin.models  # noqa: F401  (QuantDistill & co.)
        model_class = MODELS.get(str(model_type))
    if not isinstance(model_class, type):
        return False
    from mmrazor.models.algorithms import MMArchitectureQuant
    return issubclass(model_class, MMArchitectureQuant)


def build_qat_model(model_cfg: Config,
                    checkpoint: Optional[str],
                    input_shape: Optional[Sequence[int]] = None
                    ) -> nn.Module:
    """The QAT model of ``model_cfg`` with the weights and quantization
    parameters of ``checkpoint``; eval mode, observers off.

    ``model.float_checkpoint`` (and a distiller's ``teacher_ckpt``) are
    ignored: the QAT checkpoint holds everything. ``input_shape`` is the
    shape the model is traced with when built (default: the config's
    ``input_shapes``).
    """
    import mmrazor.engine  # noqa: F401  (registers the QAT loops)
    import mmrazor.models  # noqa: F401  (registers the algorithm)

    from ..compat import apply_patches
    apply_patches(['mmrazor'])  # e.g. symbolics registered by that import
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    from torch.ao.quantization import disable_observer, enable_fake_quant

    import qd_plugin.models  # noqa: F401  (traceable recognizer and head)
    from ..utils.checkpoint import load_checkpoint_strict
    init_default_scope(model_cfg.get('default_scope', 'mmaction'))
    cfg = copy.deepcopy(model_cfg.model)
    # Everything (student, quantization parameters, a distillation teacher)
    # is in the QAT checkpoint: the initial checkpoints are not needed.
    cfg.float_checkpoint = None
    if 'teacher_ckpt' in cfg:
        cfg.teacher_ckpt = None
    if input_shape is not None:
        cfg.input_shapes = tuple(input_shape)
    model = MODELS.build(cfg)
    if checkpoint is not None:
        load_checkpoint_strict(model, checkpoint, 'QAT checkpoint')
    model = model.cpu().eval()
    model.apply(disable_observer)
    model.apply(enable_fake_quant)
    return model


class TorchInt8Runtime(Runtime):
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

    def __init__(self, qat_model: nn.Module, example_inputs: torch.Tensor,
                 engine: str = 'x86') -> None:
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

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        from ..quantization import quantized_engine
        clips = torch.from_numpy(inputs)
        with quantized_engine(self.engine), torch.no_grad():
            logits = self.module(clips)
            return average_clip_scores(self.head, logits,
                                       clips.shape[0]).numpy()


def fake_quant_scores(qat_model: nn.Module,
                      inputs: torch.Tensor) -> np.ndarray:
    """Class scores of the fake-quantized QAT model (what training saw)."""
    from ..quantization import observed_graph
    with torch.no_grad():
        logits = observed_graph(qat_model).eval()(inputs)
        return average_clip_scores(qat_model.architecture.cls_head, logits,
                                   inputs.shape[0]).numpy()


def check_int8_runtimes(qat_model: nn.Module,
                        runtimes: Sequence[Runtime],
                        inputs: torch.Tensor,
                        min_agreement: float,
                        atol: float = INT8_ATOL) -> List[Parity]:
    """Top-1 agreement of each runtime with PyTorch's int8 model (``x86``).

    Int8 kernels of different runtimes round differently, so agreement is the
    pass criterion, tie-aware (:func:`.parity.check_agreement`): a flipped
    top-1 counts as agreement where the reference's margin to the flipped-to
    class is within ``2 * atol`` (at most ``parity.MAX_TIE_MARGIN``) and the
    sample's scores are within ``atol``, both on log probabilities for heads
    averaging probabilities, so untrained, near-uniform models pass while a
    wrong model still fails. Each runtime gets two records:
    against PyTorch int8 and, for information, against the fake-quant model
    (max abs diff of the class scores).

    Raises:
        ParityError: a runtime agrees (tie-aware) on fewer than
            ``min_agreement`` of the samples.
    """
    from mmengine.logging import print_log
    reference = TorchInt8Runtime(qat_model, inputs[:1]).run_batched(
        inputs.numpy())
    fake_quant = fake_quant_scores(qat_model, inputs)
    probabilities = getattr(qat_model.architecture.cls_head,
                            'average_clips', None) == 'prob'
    parities = []
    for runtime in runtimes:
        outputs = runtime.run_batched(inputs.numpy().astype(np.float32))
        name = f'{runtime.name} int8'
        parity = check_agreement(name, reference, outputs, min_agreement,
                                 atol, probabilities, 'PyTorch int8 (x86)')
        vs_fake_quant = compare(name, fake_quant, outputs, float('inf'),
                                probabilities, 'PyTorch fake-quant')
        print_log(
            f'{parity.describe_agreement()} (minimum {min_agreement:.0%}); '
            f'vs the fake-quant model {vs_fake_quant.max_abs_diff:.3g} '
            f'({vs_fake_quant.scale})',
            logger='current')
        parities += [parity, vs_fake_quant]
    return parities


def deploy_qat(deploy_cfg: Config,
               model_cfg: Config,
               checkpoint: Optional[str],
               work_dir: str,
               device: str,
               num_samples: int,
               min_agreement: float,
               overwrite: bool,
               threads: Optional[int],
               atol: float = INT8_ATOL):
    """QDQ int8 export of a QAT model; see :func:`.export.deploy`."""
    from mmengine.logging import print_log

    from .data import load_samples
    from .export import (DeployResult, backend_of, convert_to_openvino,
                         dynamic_axes_of, ensure_writable, export_shape_of,
                         fit_input_shape, output_files, write_sdk_files)
    from .qdq import export_qdq_onnx
    from .runtimes import OnnxRuntime, OpenVINORuntime

    backend = backend_of(deploy_cfg)
    ensure_writable(work_dir, output_files(deploy_cfg), overwrite)
    model = build_qat_model(model_cfg, checkpoint,
                            export_shape_of(deploy_cfg))
    inputs, _ = load_samples(model_cfg, num_samples, model.data_preprocessor)
    deploy_cfg = fit_input_shape(deploy_cfg, (1, ) + tuple(inputs.shape[1:]))
    onnx_cfg = deploy_cfg.onnx_config
    onnx_path = osp.join(work_dir,
                         osp.splitext(onnx_cfg.save_file)[0] + '.onnx')
    os.makedirs(work_dir, exist_ok=True)
    export_qdq_onnx(
        model,
        inputs[:1],
        onnx_path,
        input_names=onnx_cfg.input_names,
        output_names=onnx_cfg.output_names,
        dynamic_axes=dynamic_axes_of(deploy_cfg) or None)
    print_log(f'exported QDQ int8 {onnx_path}', logger='current')
    result = DeployResult(work_dir, backend, onnx_path)
    runtimes = [OnnxRuntime(onnx_path, threads)]
    if backend == 'openvino':
        result.openvino = convert_to_openvino(onnx_path)
        runtimes.append(OpenVINORuntime(result.openvino, threads))
    result.parities = check_int8_runtimes(model, runtimes, inputs,
                                          min_agreement, atol)

    # The SDK sees the recognizer the QAT model wraps (pipeline, classes).
    sdk_cfg = copy.deepcopy(model_cfg)
    sdk_cfg.model = copy.deepcopy(model_cfg.model.architecture)
    sdk_cfg.model.pop('_scope_', None)
    result.sdk_files = write_sdk_files(deploy_cfg, sdk_cfg, work_dir,
                                       checkpoint, device)
    deploy_json = osp.join(work_dir, 'deploy.json')
    with open(deploy_json) as f:
        info = json.load(f)
    for model_info in info['models']:
        model_info['precision'] = 'INT8'
    with open(deploy_json, 'w') as f:
        json.dump(info, f, indent=4)
    return result
