"""What a deploy config (``configs/deploy``, MMDeploy's layout) says: the
backend, the export shape and dynamic axes, and the files a deploy writes."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.config import Config
from mmengine.logging import MMLogger

#: MMDeploy SDK meta files written beside the model.
SDK_FILES = ('deploy.json', 'pipeline.json', 'detail.json')
#: The parity (or int8 agreement) records of a deploy.
PARITY_FILE = 'parity.json'
SUPPORTED_BACKENDS = ('onnxruntime', 'openvino')


def load_configs(deploy_cfg: Union[str, Config],
                 model_cfg: Union[str, Config]) -> Tuple[Config, Config]:
    """Load both configs (paths or Config objects)."""
    if not isinstance(deploy_cfg, Config):
        deploy_cfg = Config.fromfile(deploy_cfg)
    if not isinstance(model_cfg, Config):
        model_cfg = Config.fromfile(model_cfg)
    return deploy_cfg, model_cfg


def backend_of(deploy_cfg: Config) -> str:
    """The config's backend, one of :data:`SUPPORTED_BACKENDS`."""
    backend = deploy_cfg.backend_config.type
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f'backend {backend!r} is not supported here; use one '
                         f'of {SUPPORTED_BACKENDS}')
    return backend


def onnx_file_of(deploy_cfg: Config, work_dir: str) -> str:
    """Where the ``.onnx`` model goes (``onnx_config.save_file``)."""
    stem = osp.splitext(deploy_cfg.onnx_config.save_file)[0]
    return osp.join(work_dir, stem + '.onnx')


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
        MMLogger.get_current_instance().warning(
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
    """Names of every file a deploy writes in the work dir."""
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
        MMLogger.get_current_instance().warning(
            f'overwriting {osp.join(work_dir, name)}')
