"""Deploy a float recognizer: MMDeploy's ONNX export, checked against PyTorch
within an absolute tolerance.

The ONNX graph comes from MMDeploy's task processor and
``mmdeploy.apis.onnx.export`` (what ``mmdeploy.apis.torch2onnx`` runs), fed a
real sample of the config's test dataset instead of a single video path:
``torch2onnx`` builds its input with the test pipeline from a bare file name,
which Drive&Act's chunk sampling (``SampleChunkFrames`` needs the chunk's
frames from the annotation) cannot run on.
"""
import copy
import os
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..utils.checkpoint import load_checkpoint_strict
from .deploy_config import backend_of, dynamic_axes_of, onnx_file_of
from .export_strategy import ExportStrategy
from .parity import Parity, check_parity
from .runtimes import Runtime, predict_scores
from .sdk_files import write_sdk_files


def build_task(deploy_cfg: Config, model_cfg: Config, device: str = 'cpu'):
    """MMDeploy's task processor of the recognizer."""
    import qd_plugin  # noqa: F401  (compat patches)
    from mmdeploy.apis import build_task_processor
    return build_task_processor(model_cfg, deploy_cfg, device)


def build_model(task, checkpoint: Optional[str]) -> torch.nn.Module:
    """The PyTorch recognizer of an MMDeploy task processor, on CPU, eval.

    Without a checkpoint the config's ``init_cfg`` is applied (e.g. Kaiming):
    PyTorch's default initialisation of a deep Conv/BN/ReLU stack shrinks the
    activations to ~0, so every input would give the same output and no
    parity check could see a difference.
    """
    model = task.build_pytorch_model(None)
    if checkpoint is None:
        model.init_weights()
    else:
        # MMDeploy would load it non-strictly: another model's checkpoint
        # would export random weights.
        load_checkpoint_strict(model, checkpoint)
    return model.cpu().eval()


def export_onnx(deploy_cfg: Config, model: torch.nn.Module,
                example_inputs: torch.Tensor, work_dir: str) -> str:
    """Export ``model`` with ``mmdeploy.apis.onnx.export`` (MMDeploy's
    rewriters active) at the shape of ``example_inputs``.

    Returns:
        str: The ``.onnx`` path.
    """
    from mmaction.structures import ActionDataSample
    from mmdeploy.apis.onnx import export
    onnx_cfg = deploy_cfg.onnx_config
    onnx_path = onnx_file_of(deploy_cfg, work_dir)
    os.makedirs(work_dir, exist_ok=True)
    data_samples = [
        ActionDataSample() for _ in range(example_inputs.shape[0])
    ]
    dynamic_axes = dynamic_axes_of(deploy_cfg) or None
    # MMDeploy's export leaves the model's forward bound to its rewriter: give
    # it a copy so the caller's model still predicts in PyTorch afterwards.
    export(
        copy.deepcopy(model).cpu(),
        example_inputs.cpu(),
        output_path_prefix=onnx_path[:-len('.onnx')],
        backend=backend_of(deploy_cfg),
        input_metas=dict(data_samples=data_samples, mode='predict'),
        context_info=dict(deploy_cfg=deploy_cfg),
        input_names=list(onnx_cfg.input_names),
        output_names=list(onnx_cfg.output_names),
        opset_version=onnx_cfg.get('opset_version', 11),
        dynamic_axes=dynamic_axes,
        verbose=onnx_cfg.get('verbose', False),
        keep_initializers_as_inputs=onnx_cfg.get(
            'keep_initializers_as_inputs', False),
        optimize=onnx_cfg.get('optimize', False))
    return onnx_path


def check_runtimes(model: torch.nn.Module, runtimes: Sequence[Runtime],
                   inputs: torch.Tensor, atol: float) -> List[Parity]:
    """Parity of each runtime with the PyTorch ``model`` on ``inputs``.

    Compares log probabilities if the head averages probabilities
    (``average_clips='prob'``), else the scores.

    Raises:
        ParityError: at the first runtime off by more than ``atol``; the
            message names the runtime and the max abs diff.
    """
    reference = predict_scores(model, inputs).numpy()
    probabilities = getattr(model.cls_head, 'average_clips', None) == 'prob'
    array = inputs.numpy().astype(np.float32)
    parities = []
    for runtime in runtimes:
        parity = check_parity(runtime.name, reference,
                              runtime.run_batched(array), atol, probabilities)
        print_log(str(parity), logger='current')
        parities.append(parity)
    return parities


class FloatExport(ExportStrategy):
    """A float recognizer through MMDeploy; every runtime must match PyTorch
    within ``atol`` (on log probabilities for ``average_clips='prob'``
    heads).

    Args:
        atol (float): Largest accepted |runtime - PyTorch|.
    """

    name = 'float'

    def __init__(self, atol: float = 1e-3) -> None:
        self.atol = atol

    def build_model(self, deploy_cfg: Config, model_cfg: Config,
                    checkpoint: Optional[str],
                    device: str) -> torch.nn.Module:
        return build_model(build_task(deploy_cfg, model_cfg, device),
                           checkpoint)

    def export(self, deploy_cfg: Config, model: torch.nn.Module,
               example_inputs: torch.Tensor, work_dir: str) -> str:
        return export_onnx(deploy_cfg, model, example_inputs, work_dir)

    def check(self, model: torch.nn.Module, runtimes: Sequence[Runtime],
              inputs: torch.Tensor) -> List[Parity]:
        return check_runtimes(model, runtimes, inputs, self.atol)

    def write_sdk_files(self, deploy_cfg: Config, model_cfg: Config,
                        work_dir: str, checkpoint: Optional[str],
                        device: str) -> List[str]:
        return write_sdk_files(deploy_cfg, model_cfg, work_dir, checkpoint,
                               device)
