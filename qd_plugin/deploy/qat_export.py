"""Deploy a quantization-aware trained (QAT) recognizer as QDQ int8 ONNX,
checked against PyTorch's int8 model.

The QAT model is an MMRazor ``MMArchitectureQuant`` (``configs/qat_mbv3d*.py``,
``configs/kd_qat_mbv3d.py``) loaded from its checkpoint. The exported graph
takes the same input and gives the same output as the float export (class
scores after ``average_clip``); the convolutions and the classifier run in
int8.
"""
import copy
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log

from ..quantization import build_qat_model, observed_graph
from .deploy_config import dynamic_axes_of, export_shape_of, onnx_file_of
from .export_strategy import ExportStrategy
from .parity import Parity, check_agreement, compare
from .qdq import export_qdq_onnx
from .runtimes import Runtime, TorchInt8Runtime, average_clip_scores
from .sdk_files import write_sdk_files
from .uint8_input import (GRIDS, UINT8_LAYOUTS, export_uint8_qdq_onnx,
                          frames_to_inputs, inputs_to_frames,
                          normalisation_of)

#: Default largest difference of log probabilities (or of scores, for heads
#: not averaging probabilities) counted as int8 rounding noise between two
#: int8 runtimes. Measured on 3D MobileNet: 0.05-0.25 between PyTorch int8,
#: ONNX Runtime and OpenVINO (a few steps of the logits' quantization);
#: 0.7-1.7 with shuffled or zeroed int8 weights.
INT8_ATOL = 0.4


def fake_quant_scores(qat_model: nn.Module,
                      inputs: torch.Tensor) -> np.ndarray:
    """Class scores of the fake-quantized QAT model (what training saw)."""
    with torch.no_grad():
        logits = observed_graph(qat_model).eval()(inputs)
        return average_clip_scores(qat_model.architecture.cls_head, logits,
                                   inputs.shape[0]).numpy()


def check_int8_runtimes(qat_model: nn.Module,
                        runtimes: Sequence[Runtime],
                        inputs: torch.Tensor,
                        min_agreement: float,
                        atol: float = INT8_ATOL,
                        runtime_inputs: Optional[Callable[[np.ndarray],
                                                          np.ndarray]] = None
                        ) -> List[Parity]:
    """Top-1 agreement of each runtime with PyTorch's int8 model (``x86``).

    Int8 kernels of different runtimes round differently, so agreement is the
    pass criterion, tie-aware (:func:`.parity.check_agreement`): a flipped
    top-1 counts as agreement where the reference's margin to the flipped-to
    class is within ``2 * atol`` (at most ``parity.MAX_TIE_MARGIN``) and the
    sample's scores are within ``atol``, both on log probabilities for heads
    averaging probabilities, so untrained, near-uniform models pass while a
    wrong model still fails. Each runtime gets two records:
    against PyTorch int8 and, for information, against the fake-quant model
    (max abs diff of the class scores). ``runtime_inputs`` maps the float
    inputs to what the runtimes take (e.g. the uint8 frames of
    :mod:`.uint8_input`); default: the float inputs.

    Raises:
        ParityError: a runtime agrees (tie-aware) on fewer than
            ``min_agreement`` of the samples.
    """
    reference = TorchInt8Runtime(qat_model, inputs[:1]).run_batched(
        inputs.numpy())
    fake_quant = fake_quant_scores(qat_model, inputs)
    probabilities = getattr(qat_model.architecture.cls_head,
                            'average_clips', None) == 'prob'
    parities = []
    for runtime in runtimes:
        x = inputs.numpy().astype(np.float32)
        outputs = runtime.run_batched(
            runtime_inputs(x) if runtime_inputs else x)
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


def build_shape(deploy_cfg: Config,
                model_cfg: Config) -> Optional[List[int]]:
    """The shape a QAT model is built (traced once) with for an export: the
    deploy config's, unless it is another layout than the model config's
    ``input_shapes`` (the 3D deploy configs' N x clips x C x T x H x W for
    a 2D recognizer's N x segments x C x H x W): then the model config's.
    The graph is exported at a test sample's shape either way."""
    shape = export_shape_of(deploy_cfg)
    own = model_cfg.model.get('input_shapes')
    if shape is not None and own is not None and len(shape) != len(own):
        return None
    return shape


class QATExport(ExportStrategy):
    """A QAT model as QDQ int8 ONNX (:mod:`.qdq`); every runtime must agree
    with PyTorch's int8 model on the top-1 class of at least
    ``min_agreement`` of the samples, near-tie flips counting as agreement
    (see :func:`check_int8_runtimes`).

    Args:
        min_agreement (float): Least tie-aware top-1 agreement.
        atol (float, optional): Int8 rounding noise on the class log
            probabilities (scores for heads not averaging probabilities).
            Defaults to :data:`INT8_ATOL`.
        uint8_input (str, optional): Export a model taking the uint8 frames
            in this layout (``'NCTHW'`` or ``'NTHWC'``,
            :mod:`.uint8_input`), the normalisation folded into its input
            quantization; checked on the frames the float inputs were made
            from. Defaults to None: the normalised float input.
        uint8_grid (str): The uint8 input's quantization grid, ``'qat'``
            (the QAT model's, exact) or ``'frames'`` (the frames' own, no
            input rounding), see
            :func:`.uint8_input.fold_input_normalisation`.
    """

    name = 'QDQ int8'

    def __init__(self,
                 min_agreement: float = 0.9,
                 atol: Optional[float] = None,
                 uint8_input: Optional[str] = None,
                 uint8_grid: str = 'qat') -> None:
        if uint8_input is not None and uint8_input not in UINT8_LAYOUTS:
            raise ValueError(f'uint8_input must be one of {UINT8_LAYOUTS}, '
                             f'got {uint8_input!r}')
        self.min_agreement = min_agreement
        self.atol = INT8_ATOL if atol is None else atol
        if uint8_grid not in GRIDS:
            raise ValueError(f'uint8_grid must be one of {GRIDS}, got '
                             f'{uint8_grid!r}')
        self.uint8_input = uint8_input
        self.uint8_grid = uint8_grid
        if uint8_input:
            self.name = (f'QDQ int8 (uint8 {uint8_input} input, '
                         f'{uint8_grid} grid)')

    def build_model(self, deploy_cfg: Config, model_cfg: Config,
                    checkpoint: Optional[str], device: str) -> nn.Module:
        return build_qat_model(model_cfg, checkpoint,
                               build_shape(deploy_cfg, model_cfg))

    def export(self, deploy_cfg: Config, model: nn.Module,
               example_inputs: torch.Tensor, work_dir: str) -> str:
        onnx_cfg = deploy_cfg.onnx_config
        kwargs = dict(
            input_names=onnx_cfg.input_names,
            output_names=onnx_cfg.output_names,
            dynamic_axes=dynamic_axes_of(deploy_cfg) or None)
        path = onnx_file_of(deploy_cfg, work_dir)
        if self.uint8_input:
            if kwargs['dynamic_axes'] and self.uint8_input != 'NCTHW':
                raise ValueError('dynamic axes need the NCTHW uint8 input '
                                 '(its axes are the float input\'s)')
            return export_uint8_qdq_onnx(model, example_inputs, path,
                                         self.uint8_input, self.uint8_grid,
                                         **kwargs)
        return export_qdq_onnx(model, example_inputs, path, **kwargs)

    def check(self, model: nn.Module, runtimes: Sequence[Runtime],
              inputs: torch.Tensor) -> List[Parity]:
        runtime_inputs = None
        if self.uint8_input:
            mean, std = normalisation_of(
                model.architecture.data_preprocessor)

            def runtime_inputs(x: np.ndarray) -> np.ndarray:
                return frames_to_inputs(
                    inputs_to_frames(x, mean, std), self.uint8_input)

        return check_int8_runtimes(model, runtimes, inputs,
                                   self.min_agreement, self.atol,
                                   runtime_inputs)

    def write_sdk_files(self, deploy_cfg: Config, model_cfg: Config,
                        work_dir: str, checkpoint: Optional[str],
                        device: str) -> List[str]:
        # The SDK sees the recognizer the QAT model wraps (pipeline, classes).
        sdk_cfg = copy.deepcopy(model_cfg)
        sdk_cfg.model = copy.deepcopy(model_cfg.model.architecture)
        sdk_cfg.model.pop('_scope_', None)
        return write_sdk_files(deploy_cfg, sdk_cfg, work_dir, checkpoint,
                               device, precision='INT8')
