"""Load a recognizer from what the plugin produces."""
import copy
import glob
import json
import os.path as osp
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..deploy.runtimes import Runtime
from .errors import ModelConfigError, ModelNotFoundError
from .stream_recognizer import StreamRecognizer

#: The model config ``tools/deploy.py`` writes into its work dir.
DEPLOY_MODEL_CONFIG = 'model_cfg.py'
#: Backends of an MMDeploy work dir that run here.
DEPLOY_BACKENDS = ('openvino', 'onnxruntime')


def load_recognizer(model: str,
                    config: Optional[Union[str, Config]] = None,
                    backend: Optional[str] = None,
                    threads: Optional[int] = None,
                    engine: str = 'x86',
                    window_length: Optional[int] = None) -> StreamRecognizer:
    """Load a recognizer for clips and streams.

    ``model`` is one of:

    - an MMDeploy work dir of ``tools/deploy.py`` (``deploy.json`` names the
      model file: an OpenVINO IR, run by OpenVINO, or an ONNX file, run by
      ONNX Runtime), or the ``.xml`` / ``.onnx`` file in it (an ``.onnx`` runs
      in the work dir's backend: OpenVINO runs the int8 QDQ graph in int8);
    - the int8 TorchScript of ``tools/test.py`` (``int8_model.pt``);
    - a checkpoint (``.pth``) of a float, KD or QAT config; a QAT model runs
      as PyTorch's true int8 model (``x86``), as ``tools/test.py`` tests it.

    The config says how the model is fed (its test pipeline and data
    preprocessor) and names the classes. Without ``config``: a work dir's
    ``model_cfg.py`` (written by ``tools/deploy.py``), else the config its
    ``detail.json`` names; the one ``.py`` config beside a TorchScript file
    (``tools/test.py`` saves the config it ran in its work dir). A
    checkpoint needs its config.

    Args:
        model (str): The work dir or file.
        config (str | Config, optional): The model config.
        backend (str, optional): ``'openvino'`` or ``'onnxruntime'`` for an
            ``.onnx`` file or a work dir, instead of the work dir's own.
        threads (int, optional): Inference threads.
        engine (str): PyTorch quantized engine of int8 models.
        window_length (int, optional): Frames per stream window; default
            one test clip's span (``clip_len * frame_interval * num_clips``).

    Returns:
        StreamRecognizer: The loaded model.

    Raises:
        ModelNotFoundError: ``model`` (or the model file ``deploy.json``
            names) does not exist.
        ModelConfigError: No config given or found, or one that does not
            describe the model's input.
    """
    import qd_plugin  # noqa: F401  (registers the plugin's modules)
    if not osp.exists(model):
        raise ModelNotFoundError(f'model not found: {model}')
    kind, model_file, deploy_dir = _identify(model, backend)
    model_cfg = _resolve_config(model, kind, deploy_dir, config)
    from mmengine.registry import init_default_scope
    init_default_scope(model_cfg.get('default_scope', 'mmaction'))
    recognizer_cfg = architecture_cfg(model_cfg)
    if threads:
        from ..deploy.runtimes import set_torch_threads
        set_torch_threads(threads)
    runtime = _build_runtime(kind, model_file, model_cfg, recognizer_cfg,
                             threads, engine)
    return StreamRecognizer(
        runtime,
        model_cfg,
        class_names(model_cfg, recognizer_cfg),
        build_data_preprocessor(recognizer_cfg),
        model_file=model_file,
        kind=kind if kind != 'checkpoint' else runtime.name,
        window_length=window_length)


def _identify(model: str,
              backend: Optional[str]) -> Tuple[str, str, Optional[str]]:
    """(kind, model file, MMDeploy work dir or None) of ``model``."""
    if backend is not None and backend not in DEPLOY_BACKENDS:
        raise ValueError(f'backend must be one of {DEPLOY_BACKENDS}, got '
                         f'{backend!r}')
    if osp.isdir(model):
        net, dir_backend = _deploy_model_file(model)
        if backend == 'onnxruntime' and not net.endswith('.onnx'):
            # The ONNX file the IR was converted from (OpenVINO reads both).
            net = osp.splitext(net)[0] + '.onnx'
            if not osp.isfile(net):
                raise ModelNotFoundError(
                    f'model file not found: {net} (ONNX Runtime needs the '
                    f'.onnx of {model})')
        return backend or dir_backend, net, model
    folder = osp.dirname(osp.abspath(model))
    in_deploy_dir = osp.isfile(osp.join(folder, 'deploy.json'))
    if model.endswith('.xml'):
        _check_weights(model)
        return 'openvino', model, folder if in_deploy_dir else None
    if model.endswith('.onnx'):
        dir_backend = _deploy_model_file(folder)[1] if in_deploy_dir \
            else 'onnxruntime'
        return backend or dir_backend, model, \
            folder if in_deploy_dir else None
    if is_torchscript(model):
        return 'torchscript', model, None
    return 'checkpoint', model, None


def _deploy_model_file(work_dir: str) -> Tuple[str, str]:
    """The model file and backend ``deploy.json`` names."""
    meta = osp.join(work_dir, 'deploy.json')
    if not osp.isfile(meta):
        raise ModelNotFoundError(
            f'{work_dir} is not an MMDeploy work dir: {meta} not found')
    with open(meta) as f:
        info = json.load(f)
    try:
        entry = info['models'][0]
        net, backend = entry['net'], entry['backend']
    except (KeyError, IndexError, TypeError):
        raise ModelConfigError(
            f'{meta} does not name a model (models[0].net/backend)') from None
    if backend not in DEPLOY_BACKENDS:
        raise ModelConfigError(
            f'{meta}: backend {backend!r} does not run here; supported: '
            f'{DEPLOY_BACKENDS}')
    path = osp.join(work_dir, net)
    if not osp.isfile(path):
        raise ModelNotFoundError(
            f'model file not found: {path} (named in {meta})')
    if path.endswith('.xml'):
        _check_weights(path)
    return path, backend


def _check_weights(xml: str) -> None:
    weights = osp.splitext(xml)[0] + '.bin'
    if not osp.isfile(weights):
        raise ModelNotFoundError(
            f'model file not found: {weights} (the weights of {xml})')


def is_torchscript(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (``torch.jit.save``), not a
    pickled checkpoint (``torch.save``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(n.split('/', 1)[-1].startswith('code/') for n in names) and \
        any(n.endswith('/constants.pkl') for n in names)


def _resolve_config(model: str, kind: str, deploy_dir: Optional[str],
                    config: Optional[Union[str, Config]]) -> Config:
    if isinstance(config, Config):
        return config
    if config is not None:
        if not osp.isfile(config):
            raise ModelConfigError(f'config not found: {config}')
        return Config.fromfile(config)
    candidates = _config_candidates(model, kind, deploy_dir)
    for candidate in candidates:
        if osp.isfile(candidate):
            return Config.fromfile(candidate)
    hint = ('a checkpoint needs its config' if kind == 'checkpoint' else
            'looked for ' + (', '.join(candidates) or 'none'))
    raise ModelConfigError(
        f'no model config for {model} ({hint}): pass config= '
        '(--config) with the config the model was trained or tested with')


def _config_candidates(model: str, kind: str,
                       deploy_dir: Optional[str]) -> List[str]:
    if deploy_dir is not None:
        candidates = [osp.join(deploy_dir, DEPLOY_MODEL_CONFIG)]
        detail = osp.join(deploy_dir, 'detail.json')
        if osp.isfile(detail):
            with open(detail) as f:
                named = json.load(f).get('codebase', {}).get('config')
            if named:
                candidates.append(named)
        return candidates
    if kind == 'torchscript':
        found = sorted(
            glob.glob(osp.join(osp.dirname(osp.abspath(model)), '*.py')))
        if len(found) > 1:
            raise ModelConfigError(
                f'several configs beside {model} ({", ".join(found)}): pass '
                'config= (--config)')
        return found
    return []


def architecture_cfg(model_cfg: Config) -> Dict:
    """The recognizer's own config: ``model``, or the ``architecture`` of
    an MMRazor algorithm (KD, QAT), innermost first."""
    cfg = model_cfg.model
    while isinstance(cfg, dict) and 'architecture' in cfg:
        cfg = cfg['architecture']
    return cfg


def build_data_preprocessor(recognizer_cfg: Dict) -> torch.nn.Module:
    """The recognizer's data preprocessor (mean/std, format)."""
    from mmaction.registry import MODELS
    cfg = copy.deepcopy(recognizer_cfg.get('data_preprocessor'))
    if cfg is None:
        raise ModelConfigError('the model config has no data_preprocessor')
    cfg.pop('_scope_', None)
    return MODELS.build(cfg).eval()


def class_names(model_cfg: Config, recognizer_cfg: Dict) -> List[str]:
    """Class names in output order: the test dataset's ``classes`` (or
    ``metainfo.classes``), Drive&Act's 34 midlevel classes for a
    ``DriveActDataset`` without them, else ``'0'``, ``'1'``, ..."""
    dataset = (model_cfg.get('test_dataloader') or {}).get('dataset', {})
    classes: Optional[Sequence[str]] = dataset.get('classes') or (
        dataset.get('metainfo') or {}).get('classes')
    if classes is None and dataset.get('type') == 'DriveActDataset':
        from ..datasets import DRIVEACT_MIDLEVEL_CLASSES
        classes = DRIVEACT_MIDLEVEL_CLASSES
    if classes is None:
        num_classes = recognizer_cfg.get('cls_head', {}).get('num_classes')
        classes = [str(i) for i in range(num_classes or 0)]
    return [str(name) for name in classes]


def _build_head(recognizer_cfg: Dict) -> torch.nn.Module:
    from mmaction.registry import MODELS
    cfg = copy.deepcopy(recognizer_cfg['cls_head'])
    cfg.pop('_scope_', None)
    return MODELS.build(cfg).eval()


def _build_runtime(kind: str, model_file: str, model_cfg: Config,
                   recognizer_cfg: Dict, threads: Optional[int],
                   engine: str) -> Runtime:
    from ..deploy.runtimes import (OnnxRuntime, OpenVINORuntime,
                                   TorchRuntime, TorchScriptRuntime)
    if kind == 'openvino':
        return OpenVINORuntime(model_file, threads)
    if kind == 'onnxruntime':
        return OnnxRuntime(model_file, threads)
    if kind == 'torchscript':
        return TorchScriptRuntime(model_file, _build_head(recognizer_cfg),
                                  engine)
    from ..quantization import build_qat_model, is_qat_config
    if is_qat_config(model_cfg):
        return TracedInt8Runtime(build_qat_model(model_cfg, model_file),
                                 engine, model_file)
    runtime = TorchRuntime(build_pytorch_model(model_cfg, model_file),
                           model_file)
    runtime.name = 'pytorch'
    return runtime


def build_pytorch_model(model_cfg: Config,
                        checkpoint: str) -> torch.nn.Module:
    """A float or distillation (KD) model of ``model_cfg`` with the weights
    of ``checkpoint``, loaded strictly, on CPU, in eval mode (as
    ``tools/test.py`` builds it)."""
    from mmengine.registry import MODELS

    from ..utils.checkpoint import load_checkpoint_strict
    cfg = copy.deepcopy(model_cfg.model)
    for key in ('float_checkpoint', 'teacher_ckpt'):
        if cfg.get(key):
            cfg[key] = None  # the checkpoint holds the whole model
    model = MODELS.build(cfg)
    load_checkpoint_strict(model, checkpoint)
    return model.cpu().eval()


class TracedInt8Runtime(Runtime):
    """PyTorch's int8 model of a QAT checkpoint, converted and traced at the
    first input's shape (as ``tools/test.py`` makes ``int8_model.pt``)."""

    name = 'pytorch int8'

    def __init__(self, qat_model: torch.nn.Module, engine: str,
                 checkpoint: str) -> None:
        self.qat_model = qat_model
        self.engine = engine
        self.files = [checkpoint]
        self._runtime: Optional[Runtime] = None

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        if self._runtime is None:
            from ..deploy.runtimes import TorchInt8Runtime
            self._runtime = TorchInt8Runtime(
                self.qat_model, torch.from_numpy(inputs[:1]), self.engine)
        return self._runtime(inputs)
