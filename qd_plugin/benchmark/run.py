"""Everything ``tools/benchmark.py`` does, as one function."""
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log

from ..deploy.data import load_samples
from ..deploy.deploy_config import fit_input_shape
from ..deploy.float_export import build_model, build_task, export_onnx
from ..deploy.uint8_input import normalisation_of
from ..quantization import build_qat_model
from .accuracy import paired_differences
from .core import BenchContext, environment, run_benchmark, write_report
from .frames import Normalise, iter_frames, load_frames


#: Our QAT model's int8 artifacts (row keys) compared on accuracy with
#: each PTQ peer in OpenVINO (keys starting with ``PEER_PREFIXES``).
OURS = ('qdq_int8_qat_uint8_openvino', 'qdq_int8_qat_openvino')
PEER_PREFIXES = ('nncf_ptq', 'peer_ort_ptq')
#: The row builders that calibrate (the PTQ peers).
CALIBRATED_ROWS = ('peer_ort_ptq', 'peer_ort_ptq_u8', 'nncf_ptq',
                   'nncf_ptq_mixed')
#: What a user would run instead of our exports: the PTQ peers and PyTorch's
#: own int8 model of our QAT checkpoint.
ALTERNATIVES = PEER_PREFIXES + ('torch_int8_qat', )


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
                  num_calibration: int = 300,
                  qat_config: Optional[Union[str, Config]] = None,
                  qat_checkpoint: Optional[str] = None,
                  batch: int = 6) -> BenchContext:
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
    inputs = inputs.numpy().astype(np.float32)
    normalise = Normalise(*normalisation_of(model.data_preprocessor))
    frames, _ = load_frames(model_cfg, num_samples)
    if np.abs(normalise(frames) - inputs).max() > 1e-5:
        raise ValueError(
            f'{type(model.data_preprocessor).__name__} does more than '
            '(frames - mean) / std: the frames-in rows would not compute '
            'what the tensor-in rows do')
    # Training clips through the test pipeline (no augmentation).
    calibration = np.concatenate([inputs[:0]] + [
        normalise(chunk) for chunk, _ in iter_frames(
            model_cfg, 'train_dataloader', num_calibration)
    ]) if num_calibration else inputs[:0]

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
        qat_checkpoint=qat_checkpoint,
        frames=frames,
        normalise=normalise,
        batch=batch)


def benchmark_model(model_cfg: Union[str, Config],
                    checkpoint: Optional[str],
                    out_json: str,
                    deploy_cfg: Union[str, Config],
                    deploy_dir: Optional[str] = None,
                    threads: Optional[int] = None,
                    iters: int = 50,
                    warmup: int = 5,
                    num_samples: int = 4,
                    num_calibration: int = 300,
                    rows: Optional[Sequence[str]] = None,
                    qat_config: Optional[Union[str, Config]] = None,
                    qat_checkpoint: Optional[str] = None,
                    settle_s: float = 0.0,
                    accuracy_clips: Optional[int] = None,
                    batch: int = 6,
                    limit: bool = False) -> Dict:
    """Benchmark a float recognizer in every registered runtime.

    Args:
        model_cfg (str | Config): The recognizer's config; its test set gives
            the timed clip, the agreement check and the accuracy column, its
            training set (through the test pipeline) the PTQ calibration
            clips.
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
        num_calibration (int): Training clips for PTQ calibration (ORT and
            NNCF), spread evenly over the split. Defaults to 300.
        rows (list[str], optional): Row builders to run (default: all).
        qat_config (str | Config, optional): A QAT config
            (``configs/qat_mbv3d*.py``); with ``qat_checkpoint`` adds the
            int8 rows.
        settle_s (float): Untimed pause after each run (seconds); 0 runs
            the calls back to back (see :func:`.core.time_cases`).
        accuracy_clips (int, optional): Test clips of the accuracy column;
            None: the whole test split, 0: no accuracy.
        batch (int): Clips per call of the throughput rows (one per camera
            view). Defaults to 6.
        limit (bool): Measure this CPU's int8 throughput limit
            (:mod:`.int8_limit`) after the rows and report each int8 row's
            share of it. Defaults to False.

    Returns:
        dict: ``rows``, ``settings`` and the written ``paths``.
    """
    work_dir = osp.splitext(out_json)[0] + '_models'
    for path in (out_json, osp.splitext(out_json)[0] + '.md',
                 osp.splitext(out_json)[0] + '.png'):
        if osp.exists(path):
            print_log(f'overwriting {path}', logger='current',
                      level=logging.WARNING)
    if rows is not None and not set(rows) & set(CALIBRATED_ROWS):
        num_calibration = 0  # e.g. the teacher's PyTorch row only
    ctx = build_context(model_cfg, checkpoint, work_dir, deploy_cfg,
                        deploy_dir, threads, num_samples, num_calibration,
                        qat_config, qat_checkpoint, batch)
    results = run_benchmark(
        ctx, iters=iters, warmup=warmup, rows=rows, settle_s=settle_s,
        accuracy_clips=accuracy_clips)
    measured = [r['key'] for r in results
                if 'accuracy' in r and 'of' not in r['accuracy']]
    ours = [k for k in OURS if k in measured]
    peers = [k for k in measured
             if k.startswith(PEER_PREFIXES) and k.endswith('_openvino')]
    settings = dict(
        input_shape='x'.join(map(str, (1, ) + ctx.inputs.shape[1:])),
        threads=threads,
        iters=iters,
        warmup=warmup,
        interleaved=True,
        settle_s=settle_s,
        num_samples=len(ctx.inputs),
        num_calibration=len(ctx.calibration),
        calibration='train split, test pipeline',
        batch=ctx.batch,
        environment=environment(threads),
        limit=_limit(ctx, results, threads) if limit else None,
        head_to_head=head_to_head(results),
        paired_accuracy=paired_differences(ctx, ours, peers))
    paths = write_report(results, out_json, settings)
    return dict(rows=results, settings=settings, paths=paths)


def _limit(ctx: BenchContext, rows: Sequence[Dict],
           threads: Optional[int]) -> Dict:
    """The int8 limit of this CPU and the batch-1 int8 OpenVINO and PyTorch
    rows' share of it (see :mod:`.int8_limit`)."""
    import torch

    from .int8_limit import int8_peak, limit_summary, model_macs
    macs = model_macs(ctx.model, torch.from_numpy(ctx.inputs[:1]))
    peak = int8_peak(threads)
    int8 = {r['key']: r['p50_ms'] for r in rows
            if 'int8' in r['precision'] and r['batch'] == 1
            and r['runtime'] != 'onnxruntime'}
    best_peer = min((k for k in int8 if k.startswith(PEER_PREFIXES)),
                    key=int8.get, default=None)
    shown = [k for k in int8 if k.startswith(OURS) or k == best_peer]
    return limit_summary(macs, peak, {k: int8[k] for k in shown})


def head_to_head(rows: Sequence[Dict]) -> List[Dict]:
    """Our fastest export against the fastest alternative (PTQ peers,
    PyTorch int8), per input and batch: p50 ratio (ours / theirs) and the
    clips per second."""
    comparisons = []
    kinds = dict.fromkeys((r['input'], r['batch']) for r in rows)
    for kind, batch in kinds:
        same = [r for r in rows if (r['input'], r['batch']) == (kind, batch)
                and 'int8' in r['precision']]
        ours = [r for r in same if r['key'].startswith('qdq_int8_qat')]
        theirs = [r for r in same if r['key'].startswith(ALTERNATIVES)]
        if not ours or not theirs:
            continue
        best = min(ours, key=lambda r: r['p50_ms'])
        peer = min(theirs, key=lambda r: r['p50_ms'])
        comparisons.append(dict(
            input=kind, batch=batch, ours=best['key'], peer=peer['key'],
            ours_p50_ms=best['p50_ms'], peer_p50_ms=peer['p50_ms'],
            p50_ratio=round(best['p50_ms'] / peer['p50_ms'], 3),
            ours_clips_per_s=best['throughput_clips_per_s'],
            peer_clips_per_s=peer['throughput_clips_per_s']))
    return comparisons
