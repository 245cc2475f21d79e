"""Batch-1 CPU latency, throughput and size of a recognizer in PyTorch,
ONNX Runtime, OpenVINO and the peers (NNCF post-training quantization in
OpenVINO, ONNX Runtime post-training quantization run in OpenVINO and ONNX
Runtime), side by side in one run, timed from the normalised float tensor
and from the decoded uint8 frames (each artifact's own preprocessing
included), batch 1 and batch 6 (one clip per camera view); the test mean
class accuracy of every int8 row with its 95% interval.

Example::

    python tools/benchmark.py configs/mbv3d_driveact.py \
        work_dirs/mbv3d_driveact/epoch_1.pth \
        --deploy-dir work_dirs/deploy/mbv3d_openvino --threads 2 \
        --out work_dirs/benchmark/mbv3d.json

writes ``mbv3d.json``, ``mbv3d.md`` (table) and ``mbv3d.png`` (bar chart).
Each row's size is that of what the runtime loaded, named in ``size of``
(e.g. OpenVINO reading our QDQ ONNX directly, or its IR ``.xml`` + ``.bin``);
``smaller`` is the ratio to PyTorch's fp32 state dict. Per-layer profiles of
the int8 rows: ``benchmarks/profile_layers.py``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction  # does not import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark a recognizer across CPU runtimes')
    parser.add_argument('model_cfg', help='model config')
    parser.add_argument(
        'checkpoint', help="float checkpoint, or 'none' for the "
        'initialised weights')
    parser.add_argument(
        '--deploy-dir', help='tools/deploy.py output (ONNX, OpenVINO IR)')
    parser.add_argument(
        '--deploy-cfg',
        default=osp.join(
            osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
            'deploy', 'video-recognition_3d_onnxruntime_static.py'),
        help='MMDeploy config of the float export when there is no '
        '--deploy-dir (default: %(default)s)')
    parser.add_argument('--threads', type=int, help='threads per runtime')
    parser.add_argument('--iters', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument(
        '--settle',
        type=float,
        default=0.0,
        help='untimed pause in seconds after each run (default: '
        '%(default)s: back to back; idle pauses let the runtimes\' threads '
        'fall asleep, which measured OpenVINO int8 1.8x slower with 20 ms)')
    parser.add_argument(
        '--num-samples',
        type=int,
        default=4,
        help='test clips for the agreement check (default: %(default)s)')
    parser.add_argument(
        '--num-calibration',
        type=int,
        default=300,
        help='training clips (through the test pipeline) calibrating the '
        'PTQ peers, NNCF and ONNX Runtime (default: %(default)s)')
    parser.add_argument(
        '--accuracy-clips',
        type=int,
        help='test clips of the accuracy column of the int8 rows (default: '
        'the whole test split; 0: no accuracy)')
    parser.add_argument(
        '--batch',
        type=int,
        default=6,
        help='clips per call of the throughput rows, one per camera view '
        '(default: %(default)s, the Drive&Act views)')
    parser.add_argument(
        '--no-limit',
        action='store_true',
        help="skip measuring this CPU's int8 throughput limit")
    parser.add_argument(
        '--qat-config',
        help='QAT config (configs/qat_mbv3d*.py): adds int8 rows of the QAT '
        'model (PyTorch x86/fbgemm, our QDQ export in OpenVINO and ONNX '
        'Runtime)')
    parser.add_argument('--qat-checkpoint', help='its QAT checkpoint')
    parser.add_argument(
        '--rows', nargs='+', help='only these row builders (default: all)')
    parser.add_argument('--out', required=True, help='results .json')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override model config settings')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.threads:
        # Before torch starts its OpenMP pool.
        os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    from mmengine.logging import MMLogger

    import qd_plugin  # noqa: F401  (registers, applies the compat patches)
    from qd_plugin.benchmark import ROW_BUILDERS, benchmark_model
    from qd_plugin.utils import load_config

    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    if checkpoint is not None and not osp.isfile(checkpoint):
        print(f'checkpoint not found: {checkpoint}', file=sys.stderr)
        return 2
    unknown = set(args.rows or ()) - set(ROW_BUILDERS)
    if unknown:
        print(f'unknown rows {sorted(unknown)}; known: {list(ROW_BUILDERS)}',
              file=sys.stderr)
        return 2
    if bool(args.qat_config) != bool(args.qat_checkpoint):
        print('--qat-config and --qat-checkpoint go together',
              file=sys.stderr)
        return 2
    # --cfg-options apply to both configs (e.g. the data paths).
    model_cfg = load_config(args.model_cfg, args.cfg_options)
    qat_cfg = load_config(args.qat_config, args.cfg_options) \
        if args.qat_config else None
    MMLogger.get_instance('qd_benchmark', log_level='INFO')
    result = benchmark_model(
        model_cfg,
        checkpoint,
        args.out,
        args.deploy_cfg,
        deploy_dir=args.deploy_dir,
        threads=args.threads,
        iters=args.iters,
        warmup=args.warmup,
        num_samples=args.num_samples,
        num_calibration=args.num_calibration,
        rows=args.rows,
        settle_s=args.settle,
        qat_config=qat_cfg,
        qat_checkpoint=args.qat_checkpoint,
        accuracy_clips=args.accuracy_clips,
        batch=args.batch,
        limit=not args.no_limit)
    with open(result['paths']['markdown']) as f:
        print(f.read())
    print('written: ' + ', '.join(result['paths'].values()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
