"""Per-layer CPU profile of the int8 models: where does the time go?

Profiles, side by side and interleaved on one real test clip (batch 1),
the runtimes of these rows of ``tools/benchmark.py`` (built by
``qd_plugin.benchmark.rows``, OpenVINO with ``PERF_COUNT``):

* ``torch int8 (QAT, x86)``: PyTorch's int8 model of the QAT checkpoint
  (frozen TorchScript, ``x86`` engine), per operator call
  (``torch.profiler``);
* ``openvino int8 (QAT, QDQ)``: our QDQ export of it, in OpenVINO, per
  compiled layer (``PERF_COUNT``); with ``--raw-qdq`` also the export before
  the graph clean-up;
* ``openvino int8 (peer: ORT PTQ)``: the float model quantized by ONNX
  Runtime's ``quantize_static``, in OpenVINO;
* any ``--openvino LABEL=PATH`` model (ONNX or IR), e.g. a variant of a
  graph under test.

Writes ``profile.json`` (every layer), ``profile.md`` (time by layer type
and kernel, the slowest layers, their share) and ``profile.png`` (bar chart)
to ``--out``, and the models it made to ``--out/models``.

Example::

    python benchmarks/profile_layers.py configs/mbv3d_driveact.py \
        work_dirs/mbv3d_driveact/<best>.pth \
        --qat-config configs/kd_qat_mbv3d.py \
        --qat-checkpoint work_dirs/kd_qat_mbv3d/<best>.pth \
        --threads 2 --out work_dirs/profile/kd_qat
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction  # does not import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The benchmark's row builders whose runtimes are profiled.
PROFILED_ROW_BUILDERS = ('torch_int8_qat', 'qdq_int8_qat', 'peer_ort_ptq')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Per-layer CPU profile of the int8 models')
    parser.add_argument('model_cfg', help='float model config')
    parser.add_argument(
        'checkpoint', help="float checkpoint (quantized by the peer PTQ), or "
        "'none'")
    parser.add_argument('--qat-config', required=True, help='QAT config')
    parser.add_argument(
        '--qat-checkpoint', required=True, help='its QAT checkpoint')
    parser.add_argument(
        '--deploy-cfg',
        default=osp.join(REPO_ROOT, 'configs', 'deploy',
                         'video-recognition_3d_onnxruntime_static.py'),
        help='MMDeploy config of the float export (default: %(default)s)')
    parser.add_argument(
        '--threads', type=int, default=2,
        help='threads per runtime (default: %(default)s)')
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument(
        '--settle',
        type=float,
        default=0.02,
        help='pause in seconds after each call (default: %(default)s)')
    parser.add_argument(
        '--top', type=int, default=15,
        help='layers per model in the table and the chart (default: '
        '%(default)s)')
    parser.add_argument(
        '--num-calibration',
        type=int,
        default=8,
        help='validation clips calibrating the peer PTQ (default: '
        '%(default)s)')
    parser.add_argument(
        '--raw-qdq',
        action='store_true',
        help='also profile our QDQ export without the graph clean-up')
    parser.add_argument(
        '--openvino',
        nargs='+',
        default=[],
        metavar='LABEL=PATH',
        help='more models to profile in OpenVINO (.onnx or .xml)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of both configs')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    # Before torch starts its OpenMP pool.
    os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    extra = dict(item.split('=', 1) for item in args.openvino)
    missing = [p for p in extra.values() if not osp.isfile(p)]
    if missing or any('=' not in item for item in args.openvino):
        print(f'--openvino takes LABEL=PATH of existing files: '
              f'{args.openvino}', file=sys.stderr)
        return 2
    import torch
    from mmengine.logging import MMLogger

    import qd_plugin  # noqa: F401  (registers, applies the compat patches)
    from qd_plugin.benchmark import build_cases
    from qd_plugin.benchmark.core import environment
    from qd_plugin.benchmark.layer_profile import (profile_models,
                                                   write_profile_report)
    from qd_plugin.benchmark.run import build_context
    from qd_plugin.deploy.qdq import export_qdq_onnx
    from qd_plugin.deploy.runtimes import OpenVINORuntime, set_torch_threads
    from qd_plugin.utils import load_config

    MMLogger.get_instance('qd_profile', log_level='INFO')
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    work_dir = osp.join(args.out, 'models')
    ctx = build_context(
        load_config(args.model_cfg, args.cfg_options),
        checkpoint,
        work_dir,
        args.deploy_cfg,
        threads=args.threads,
        num_samples=1,
        num_calibration=args.num_calibration,
        qat_config=load_config(args.qat_config, args.cfg_options),
        qat_checkpoint=args.qat_checkpoint)
    ctx.openvino_perf_count = True
    set_torch_threads(args.threads)

    def openvino(path: str) -> OpenVINORuntime:
        return OpenVINORuntime(path, args.threads, perf_count=True)

    # The benchmark's own rows (qd_plugin.benchmark.rows), by key.
    cases = {
        case.key: case
        for case in build_cases(ctx, PROFILED_ROW_BUILDERS)
    }
    models = {
        cases[key].label: cases[key].run
        for key in ('torch_int8_qat_x86', 'qdq_int8_qat_openvino')
    }
    if args.raw_qdq:
        models['openvino int8 (QAT, QDQ, raw export)'] = openvino(
            export_qdq_onnx(
                ctx.qat_model,
                torch.from_numpy(ctx.inputs[:1]),
                osp.join(work_dir, 'qat_qdq_raw.onnx'),
                cleanup=False))
    peer = cases['peer_ort_ptq_openvino']
    models[peer.label] = peer.run
    for label, path in extra.items():
        models[label] = openvino(path)

    profiles = profile_models(models, ctx.inputs[:1], args.iters,
                              args.warmup, args.settle)
    settings = dict(
        input_shape='x'.join(map(str, ctx.inputs[:1].shape)),
        threads=args.threads,
        iters=args.iters,
        warmup=args.warmup,
        settle_s=args.settle,
        interleaved=True,
        models={label: getattr(model, 'files', [])
                for label, model in models.items()},
        environment=environment())
    paths = write_profile_report(profiles, args.out, settings, args.top)
    with open(paths['md']) as f:
        print(f.read())
    print('written: ' + ', '.join(paths.values()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
