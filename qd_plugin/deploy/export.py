"""Deploy a recognizer: export it to ONNX, convert it for OpenVINO, check the
runtimes against PyTorch on real test samples and write MMDeploy's SDK meta
files.

A float recognizer and a quantization-aware trained one differ in how they
are built, exported and checked (:class:`.float_export.FloatExport`,
:class:`.qat_export.QATExport`); :func:`deploy` runs the steps they share.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

from mmengine.config import Config
from mmengine.logging import print_log

from ..quantization import is_qat_config
from .data import load_samples
from .deploy_config import (PARITY_FILE, backend_of, ensure_writable,
                            fit_input_shape, load_configs, output_files)
from .export_strategy import ExportStrategy
from .float_export import FloatExport
from .openvino_ir import convert_to_openvino
from .parity import Parity
from .qat_export import QATExport
from .runtimes import OnnxRuntime, OpenVINORuntime


@dataclass
class DeployResult:
    """What :func:`deploy` wrote and measured."""

    work_dir: str
    backend: str
    onnx: str
    openvino: Optional[str] = None
    sdk_files: List[str] = field(default_factory=list)
    parities: List[Parity] = field(default_factory=list)

    @property
    def model_file(self) -> str:
        return self.openvino or self.onnx


def deploy(deploy_cfg: Union[str, Config],
           model_cfg: Union[str, Config],
           checkpoint: Optional[str],
           work_dir: str,
           device: str = 'cpu',
           num_samples: int = 4,
           atol: float = 1e-3,
           overwrite: bool = False,
           threads: Optional[int] = None,
           min_int8_agreement: float = 0.9,
           int8_atol: Optional[float] = None) -> DeployResult:
    """Export, convert, check and write the SDK files.

    A float recognizer is exported with MMDeploy and must match PyTorch
    within ``atol``. A QAT model (MMRazor ``MMArchitectureQuant`` config) is
    exported as a QDQ int8 graph and must agree with PyTorch's int8 model on
    the top-1 class of at least ``min_int8_agreement`` of the samples, a flip
    between near-tied classes counting as agreement (``int8_atol``, see
    :func:`.qat_export.check_int8_runtimes`).

    Args:
        deploy_cfg (str | Config): The deploy config (``configs/deploy``).
        model_cfg (str | Config): The recognizer's config.
        checkpoint (str, optional): Weights; None keeps the initialisation.
        work_dir (str): Output folder.
        device (str): Where PyTorch builds the model. Export runs on CPU.
        num_samples (int): Real test samples for the check.
        atol (float): For float models, the largest accepted |runtime -
            PyTorch| (on log probabilities for ``average_clips='prob'``
            heads).
        overwrite (bool): Replace files an earlier run left in ``work_dir``.
        threads (int, optional): Threads of the runtimes in the check.
        min_int8_agreement (float): For QAT models, see above.
        int8_atol (float, optional): For QAT models, the difference of
            class log probabilities (scores for heads not averaging
            probabilities) counted as int8 rounding noise. Defaults to
            ``qat_export.INT8_ATOL``.

    Raises:
        FileExistsError: ``work_dir`` holds outputs and not ``overwrite``.
        ParityError: a runtime differs from PyTorch beyond tolerance.
    """
    deploy_cfg, model_cfg = load_configs(deploy_cfg, model_cfg)
    strategy: ExportStrategy = QATExport(
        min_int8_agreement, int8_atol) if is_qat_config(model_cfg) else \
        FloatExport(atol)
    backend = backend_of(deploy_cfg)
    ensure_writable(work_dir, output_files(deploy_cfg), overwrite)
    model = strategy.build_model(deploy_cfg, model_cfg, checkpoint, device)
    inputs, _ = load_samples(model_cfg, num_samples, model.data_preprocessor)
    deploy_cfg = fit_input_shape(deploy_cfg, (1, ) + tuple(inputs.shape[1:]))
    os.makedirs(work_dir, exist_ok=True)
    onnx_path = strategy.export(deploy_cfg, model, inputs[:1], work_dir)
    print_log(f'exported {strategy.name} {onnx_path}', logger='current')
    result = DeployResult(work_dir, backend, onnx_path)
    runtimes = [OnnxRuntime(onnx_path, threads)]
    if backend == 'openvino':
        result.openvino = convert_to_openvino(onnx_path)
        print_log(f'converted {result.openvino}', logger='current')
        runtimes.append(OpenVINORuntime(result.openvino, threads))
    result.parities = strategy.check(model, runtimes, inputs)
    result.sdk_files = strategy.write_sdk_files(deploy_cfg, model_cfg,
                                                work_dir, checkpoint, device)
    write_parity(work_dir, result.parities)
    return result


def write_parity(work_dir: str, parities: Sequence[Parity]) -> str:
    """Write the check's records to ``<work_dir>/parity.json``."""
    path = osp.join(work_dir, PARITY_FILE)
    with open(path, 'w') as f:
        json.dump([p.to_dict() for p in parities], f, indent=2)
    return path
