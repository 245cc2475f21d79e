"""Export a float recognizer with MMDeploy, convert it for OpenVINO, check
parity with PyTorch on real samples and write MMDeploy's SDK meta files.

The ONNX graph comes from MMDeploy's task processor and
``mmdeploy.apis.onnx.export`` (what ``mmdeploy.apis.torch2onnx`` runs), fed a
real sample of the config's test dataset instead of a single video path:
``torch2onnx`` builds its input with the test pipeline from a bare file name,
which Drive&Act's chunk sampling (``SampleChunkFrames`` needs the chunk's
frames from the annotation) cannot run on. OpenVINO IR is converted from that
ONNX with OpenVINO's own converter.
"""
import copy
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from ..utils.checkpoint import load_checkpoint_strict
from .data import load_samples
from .parity import Parity, check_parity
from .runtimes import OnnxRuntime, OpenVINORuntime, Runtime, predict_scores

SDK_FILES = ('deploy.json', 'pipeline.json', 'detail.json')
PARITY_FILE = 'parity.json'
SUPPORTED_BACKENDS = ('onnxruntime', 'openvino')


def _logger() -> MMLogger:
    return MMLogger.get_current_instance()


def load_configs(deploy_cfg: Union[str, Config],
                 model_cfg: Union[str, Config]) -> Tuple[Config, Config]:
    """Load both configs (paths or Config objects)."""
    if not isinstance(deploy_cfg, Config):
        deploy_cfg = Config.fromfile(deploy_cfg)
    if not isinstance(model_cfg, Config):
        model_cfg = Config.fromfile(model_cfg)
    return deploy_cfg, model_cfg


def backend_of(deploy_cfg: Config) -> str:
    backend = deploy_cfg.backend_config.type
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f'backend {backend!r} is not supported here; use one '
                         f'of {SUPPORTED_BACKENDS}')
    return backend


def dynamic_axes_of(deploy_cfg: Config) -> Dict[str, Dict[int, str]]:
    """``onnx_config.dynamic_axes`` as ``{name: {axis: label}}``."""
    axes = deploy_cfg.onnx_config.get('dynamic_axes') or {}
    result = {}
    for name, value in axes.items():
        if isinstance(value, dict):
            result[name] = {int(k): v for k, v in value.items()}
        else:
            result[name] = {int(k): f'{name}_{k}' for k in value}
    return result


def export_shape_of(deploy_cfg: Config) -> Optional[List[int]]:
    """The input shape to export at: ``backend_config.model_inputs[0]
    .opt_shapes.input`` (MMDeploy's OpenVINO layout), N x clips x C x T x H x
    W. None if the config names none."""
    model_inputs = deploy_cfg.backend_config.get('model_inputs') or [{}]
    input_name = deploy_cfg.onnx_config.input_names[0]
    shape = model_inputs[0].get('opt_shapes', {}).get(input_name)
    return list(shape) if shape is not None else None


def fit_input_shape(deploy_cfg: Config, shape: Sequence[int]) -> Config:
    """The deploy config, exporting at ``shape`` (a test sample's).

    As MMDeploy does when its input shape and the model's test pipeline
    disagree, the mismatch is reported, not fatal: the graph is exported at
    the shape the recognizer is tested at (e.g. a config with shorter clips
    or smaller crops), and the returned config (written to detail.json) says
    so.
    """
    expected = export_shape_of(deploy_cfg)
    dynamic = dynamic_axes_of(deploy_cfg).get(
        deploy_cfg.onnx_config.input_names[0], {})
    if expected is not None and len(expected) == len(shape) and all(
            e == s for axis, (e, s) in enumerate(zip(expected, shape))
            if axis not in dynamic):
        return deploy_cfg
    if expected is not None:
        _logger().warning(
            f'the deploy config exports input {list(expected)} (dynamic axes '
            f'{sorted(dynamic)}), but the model config\'s test pipeline gives '
            f'{list(shape)}: exporting at {list(shape)}')
    deploy_cfg = copy.deepcopy(deploy_cfg)
    input_name = deploy_cfg.onnx_config.input_names[0]
    deploy_cfg.backend_config.model_inputs = [
        dict(opt_shapes={input_name: [int(d) for d in shape]})
    ]
    if deploy_cfg.onnx_config.get('input_shape') is not None:
        deploy_cfg.onnx_config.input_shape = [int(shape[-1]), int(shape[-2])]
    return deploy_cfg


def output_files(deploy_cfg: Config) -> List[str]:
    """Names of every file :func:`deploy` writes in the work dir."""
    stem = osp.splitext(deploy_cfg.onnx_config.save_file)[0]
    files = [stem + '.onnx']
    if backend_of(deploy_cfg) == 'openvino':
        files += [stem + '.xml', stem + '.bin']
    return files + list(SDK_FILES) + [PARITY_FILE]


def ensure_writable(work_dir: str, files: Sequence[str],
                    overwrite: bool) -> None:
    """Refuse to overwrite files silently."""
    existing = [f for f in files if osp.exists(osp.join(work_dir, f))]
    if not existing:
        return
    if not overwrite:
        raise FileExistsError(
            f'{work_dir} already holds {", ".join(existing)}; pass '
            '--overwrite to replace them or choose another --work-dir')
    for name in existing:
        _logger().warning(f'overwriting {osp.join(work_dir, name)}')


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
    stem = osp.splitext(onnx_cfg.save_file)[0]
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
        output_path_prefix=osp.join(work_dir, stem),
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
    return osp.join(work_dir, stem + '.onnx')


def convert_to_openvino(onnx_path: str, xml_path: Optional[str] = None,
                        compress_to_fp16: bool = False) -> str:
    """ONNX -> OpenVINO IR with ``openvino.convert_model``/``save_model``.

    Weights stay float32 unless ``compress_to_fp16`` (``save_model`` would
    compress them by default). Static/dynamic dimensions are kept as in the
    ONNX graph.
    """
    import openvino as ov
    xml_path = xml_path or osp.splitext(onnx_path)[0] + '.xml'
    ov_model = ov.convert_model(onnx_path)
    ov.save_model(ov_model, xml_path, compress_to_fp16=compress_to_fp16)
    return xml_path


def write_sdk_files(deploy_cfg: Config,
                    model_cfg: Config,
                    work_dir: str,
                    checkpoint: Optional[str],
                    device: str = 'cpu') -> List[str]:
    """MMDeploy SDK meta files (deploy.json, pipeline.json, detail.json).

    The SDK's preprocessing is derived from ``model_cfg.test_pipeline``; it is
    set to the test dataloader's pipeline (the one parity was checked on).
    """
    from mmdeploy.backend.sdk.export_info import export2SDK
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.test_pipeline = copy.deepcopy(
        model_cfg.test_dataloader.dataset.pipeline)
    export2SDK(deploy_cfg, model_cfg, work_dir, pth=checkpoint or '',
               device=device)
    return [osp.join(work_dir, name) for name in SDK_FILES]


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
        _logger().info(str(parity))
        parities.append(parity)
    return parities


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
    """Export, convert, check parity and write the SDK files.

    A float recognizer is exported with MMDeploy and must match PyTorch
    within ``atol``. A QAT model (MMRazor ``MMArchitectureQuant`` config) is
    exported as a QDQ int8 graph (:mod:`.qat`) and must agree with PyTorch's
    int8 model on the top-1 class of at least ``min_int8_agreement`` of the
    samples, a flip between near-tied classes counting as agreement
    (``int8_atol``, see :func:`.qat.check_int8_runtimes`).

    Args:
        deploy_cfg (str | Config): The deploy config (``configs/deploy``).
        model_cfg (str | Config): The recognizer's config.
        checkpoint (str, optional): Weights; None keeps the initialisation.
        work_dir (str): Output folder.
        device (str): Where PyTorch builds the model. Export runs on CPU.
        num_samples (int): Real test samples for the parity check.
        atol (float): Largest accepted |runtime - PyTorch| (on log
            probabilities for ``average_clips='prob'`` heads).
        overwrite (bool): Replace files an earlier run left in ``work_dir``.
        threads (int, optional): Threads of the runtimes in the check.
        min_int8_agreement (float): For QAT models, see above.
        int8_atol (float, optional): For QAT models, the difference of
            class log probabilities (scores for heads not averaging
            probabilities) counted as int8 rounding noise. Defaults to
            ``qat.INT8_ATOL``.

    Raises:
        FileExistsError: ``work_dir`` holds outputs and not ``overwrite``.
        ParityError: a runtime differs from PyTorch by more than ``atol``.
    """
    deploy_cfg, model_cfg = load_configs(deploy_cfg, model_cfg)
    from .qat import INT8_ATOL, deploy_qat, is_qat_config
    if is_qat_config(model_cfg):
        result = deploy_qat(deploy_cfg, model_cfg, checkpoint, work_dir,
                            device, num_samples, min_int8_agreement,
                            overwrite, threads,
                            INT8_ATOL if int8_atol is None else int8_atol)
        _write_parity(work_dir, result.parities)
        return result
    backend = backend_of(deploy_cfg)
    ensure_writable(work_dir, output_files(deploy_cfg), overwrite)
    logger = _logger()
    task = build_task(deploy_cfg, model_cfg, device)
    model = build_model(task, checkpoint)
    inputs, _ = load_samples(model_cfg, num_samples, model.data_preprocessor)
    deploy_cfg = fit_input_shape(deploy_cfg, (1, ) + tuple(inputs.shape[1:]))
    onnx_path = export_onnx(deploy_cfg, model, inputs[:1], work_dir)
    logger.info(f'exported {onnx_path}')
    result = DeployResult(work_dir, backend, onnx_path)
    runtimes = [OnnxRuntime(onnx_path, threads)]
    if backend == 'openvino':
        result.openvino = convert_to_openvino(onnx_path)
        logger.info(f'converted {result.openvino}')
        runtimes.append(OpenVINORuntime(result.openvino, threads))

    result.parities = check_runtimes(model, runtimes, inputs, atol)

    result.sdk_files = write_sdk_files(deploy_cfg, model_cfg, work_dir,
                                       checkpoint, device)
    _write_parity(work_dir, result.parities)
    return result


def _write_parity(work_dir: str, parities: Sequence[Parity]) -> None:
    with open(osp.join(work_dir, PARITY_FILE), 'w') as f:
        json.dump([p.to_dict() for p in parities], f, indent=2)
