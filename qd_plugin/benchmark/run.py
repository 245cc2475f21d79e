"""Everything ``tools/benchmark.py`` does, as one function."""
import logging
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log

from ..deploy.data import load_samples
from ..deploy.deploy_config import fit_input_shape
from ..deploy.float_export import build_model, build_task, export_onnx
from ..quantization import build_qat_model
from .core import BenchContext, environment, run_benchmark, write_report


def _find_onnx(deploy_dir: str) -> str:
    names = sorted(n for n in os.listdir(deploy_dir) if n.endswith('.onnx'))
    if not names:
        raise FileNotFoundError(f'no .onnx model in the deploy dir '
                                f'{deploy_dir} (run tools/deploy.py first)')
    return osp.join(deploy_dir,
                    'end2end.onnx' if 'end2end.onnx' in names else names[0])


def build_context(model_cfg: Union[str, Config],
                  checkpoint: Optional[str],
                  work_dir: str,
                  deploy_cfg: Union[str, Config],
                  deploy_dir: Optional[str] = None,
                  threads: Optional[int] = None,
                  num_samples: int = 4,
                  num_calibration: int = 8,
                  qat_config: Optional[Union[str, Config]] = None,
                  qat_checkpoint: Optional[str] = None) -> BenchContext:
    """What the row builders need: the float model, real test and
    calibration clips, the deploy dir's (or a lazily exported) float ONNX and
    the QAT model. Arguments as in :func:`benchmark_model`; generated models
    go to ``work_dir``."""
    if not isinstance(model_cfg, Config):
        model_cfg = Config.fromfile(model_cfg)
    os.makedirs(work_dir, exist_ok=True)
    if not isinstance(deploy_cfg, Config):
        deploy_cfg = Config.fromfile(deploy_cfg)
    task = build_task(deploy_cfg, model_cfg)
    model = build_model(task, checkpoint)
    inputs, _ = load_samples(model_cfg, num_samples, model.data_preprocessor)
    calibration, _ = load_samples(model_cfg, num_calibration,
                                  model.data_preprocessor,
                                  loader='val_dataloader')
    inputs = inputs.numpy().astype(np.float32)
    calibration = calibration.numpy().astype(np.float32)

    onnx_path = None
    if deploy_dir:
        onnx_path = _find_onnx(deploy_dir)
        if checkpoint is None:
            print_log(
                'no checkpoint: PyTorch rows use fresh random weights, not '
                f'those exported to {deploy_dir}', logger='current',
                level=logging.WARNING)

    def export_float_onnx() -> str:
        """The float model exported here (no deploy dir), on first use."""
        import torch
        path = osp.join(work_dir, 'end2end.onnx')
        if osp.exists(path):
            print_log(f'overwriting {path}', logger='current',
                      level=logging.WARNING)
        return export_onnx(
            fit_input_shape(deploy_cfg, (1, ) + inputs.shape[1:]), model,
            torch.from_numpy(inputs[:1]), work_dir)

    qat_model = None
    if qat_config is not None:
        if not isinstance(qat_config, Config):
            qat_config = Config.fromfile(qat_config)
        qat_model = build_qat_model(qat_config, qat_checkpoint,
                                    (1, ) + inputs.shape[1:])

    return BenchContext(
        model_cfg=model_cfg,
        model=model,
        checkpoint=checkpoint,
        inputs=inputs,
        calibration=calibration,
        work_dir=work_dir,
        deploy_dir=deploy_dir,
        threads=threads,
        onnx_path=onnx_path,
        export_onnx=export_float_onnx,
        qat_model=qat_model,
        qat_checkpoint=qat_checkpoint)


def benchmark_model(model_cfg: Union[str, Config],
                    checkpoint: Optional[str],
                    out_json: str,
                    deploy_cfg: Union[str, Config],
                    deploy_dir: Optional[str] = None,
                    threads: Optional[int] = None,
                    iters: int = 50,
                    warmup: int = 5,
                    num_samples: int = 4,
                    num_calibration: int = 8,
                    rows: Optional[Sequence[str]] = None,
                    qat_config: Optional[Union[str, Config]] = None,
                    qat_checkpoint: Optional[str] = None,
                    settle_s: float = 0.0) -> Dict:
    """Benchmark a float recognizer in every registered runtime.

    Args:
        model_cfg (str | Config): The recognizer's config; its test set gives
            the timed clip and the accuracy check, its validation set the
            PTQ calibration clips.
        checkpoint (str, optional): Float weights (None: initialised).
        out_json (str): Results; ``.md`` and ``.png`` are written next to it,
            generated models to ``<stem>_models/``.
        deploy_cfg (str | Config): The MMDeploy config the float model is
            exported with when there is no ``deploy_dir`` (e.g.
            ``configs/deploy/video-recognition_3d_onnxruntime_static.py``),
            fitted to the test clips' shape.
        deploy_dir (str, optional): ``tools/deploy.py`` output to take the
            ONNX/OpenVINO models from; exported here when absent.
        threads (int, optional): Threads of every runtime.
        iters, warmup (int): Timed and untimed iterations per runtime.
        num_samples (int): Test clips for the agreement check.
        num_calibration (int): Validation clips for PTQ calibration.
        rows (list[str], optional): Row builders to run (default: all).
        qat_config (str | Config, optional): A QAT config
            (``configs/qat_mbv3d*.py``); with ``qat_checkpoint`` adds the
            int8 rows.
        settle_s (float): Untimed pause after each run (seconds); 0 runs
            the calls back to back (see :func:`.core.time_cases`).

    Returns:
        dict: ``rows``, ``settings`` and the written ``paths``.
    """
    work_dir = osp.splitext(out_json)[0] + '_models'
    for path in (out_json, osp.splitext(out_json)[0] + '.md',
                 osp.splitext(out_json)[0] + '.png'):
        if osp.exists(path):
            print_log(f'overwriting {path}', logger='current',
                      level=logging.WARNING)
    ctx = build_context(model_cfg, checkpoint, work_dir, deploy_cfg,
                        deploy_dir, threads, num_samples, num_calibration,
                        qat_config, qat_checkpoint)
    results = run_benchmark(
        ctx, iters=iters, warmup=warmup, rows=rows, settle_s=settle_s)
    settings = dict(
        input_shape='x'.join(map(str, (1, ) + ctx.inputs.shape[1:])),
        threads=threads,
        iters=iters,
        warmup=warmup,
        interleaved=True,
        settle_s=settle_s,
        num_samples=len(ctx.inputs),
        num_calibration=len(ctx.calibration),
        environment=environment())
    paths = write_report(results, out_json, settings)
    return dict(rows=results, settings=settings, paths=paths)
