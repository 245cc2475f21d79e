"""Export a recognizer (ONNX, OpenVINO IR), check its parity with PyTorch on
real test samples and write MMDeploy's SDK meta files.

A float model config (e.g. configs/mbv3d_driveact.py) is exported with
MMDeploy and checked on its outputs (``--atol``); a QAT config
(configs/qat_mbv3d*.py, MMRazor) with its QAT checkpoint is exported as a QDQ
int8 graph and checked on top-1 agreement with PyTorch's int8 model
(``--int8-min-agreement``), where a flip between classes whose reference log
probabilities are within ``2 * --int8-atol`` (at most 0.5), with every log
probability of the sample within ``--int8-atol``, is int8 rounding noise and
counts as agreement.

Example::

    python tools/deploy.py \
        configs/deploy/video-recognition_3d_openvino_static.py \
        configs/mbv3d_driveact.py work_dirs/mbv3d_driveact/epoch_1.pth \
        --work-dir work_dirs/deploy/mbv3d_openvino

Exits with status 1 and a ``parity check FAILED`` message when a runtime's
outputs differ from PyTorch's by more than ``--atol``.
"""
import argparse
import logging
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.logging import MMLogger, print_log


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a recognizer with MMDeploy and check parity')
    parser.add_argument('deploy_cfg', help='deploy config (configs/deploy/)')
    parser.add_argument('model_cfg', help='model config')
    parser.add_argument(
        'checkpoint', help="checkpoint file, or 'none' to export the "
        'initialised weights')
    parser.add_argument('--work-dir', required=True, help='output folder')
    parser.add_argument('--device', default='cpu', help='device of PyTorch')
    parser.add_argument(
        '--num-samples',
        type=int,
        default=4,
        help='real test samples in the parity check (default: %(default)s)')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-3,
        help='largest accepted |runtime - PyTorch| on the class log '
        'probabilities (default: %(default)s)')
    parser.add_argument(
        '--int8-min-agreement',
        type=float,
        default=0.9,
        help='QAT configs: least top-1 agreement of the int8 runtimes with '
        "PyTorch's int8 model, near-tie flips counted as agreement "
        '(default: %(default)s)')
    parser.add_argument(
        '--int8-atol',
        type=float,
        default=0.4,
        help='QAT configs: difference of class log probabilities counted as '
        'int8 rounding noise; a top-1 flip is a near tie if the reference '
        'margin is within twice this (at most 0.5) and all log probabilities '
        'within it (default: %(default)s)')
    parser.add_argument(
        '--threads', type=int, help='threads of the runtimes in the check')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the outputs of an earlier run in --work-dir')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override model config settings, e.g. '
        'test_dataloader.dataset.ann_root=...')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    import qd_plugin  # noqa: F401  (registers, applies the compat patches)
    from qd_plugin.deploy import ParityError, deploy
    from qd_plugin.utils import load_config
    from qd_plugin.utils.checkpoint import CheckpointError

    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    if checkpoint is not None and not osp.isfile(checkpoint):
        print(f'checkpoint not found: {checkpoint}', file=sys.stderr)
        return 2
    # --cfg-options may also re-bind a config's top-level variables.
    model_cfg = load_config(args.model_cfg, args.cfg_options)
    MMLogger.get_instance('qd_deploy', log_level='INFO')
    try:
        result = deploy(
            args.deploy_cfg,
            model_cfg,
            checkpoint,
            args.work_dir,
            device=args.device,
            num_samples=args.num_samples,
            atol=args.atol,
            overwrite=args.overwrite,
            threads=args.threads,
            min_int8_agreement=args.int8_min_agreement,
            int8_atol=args.int8_atol)
    except (ParityError, FileExistsError, CheckpointError) as error:
        print(f'ERROR: {error}', file=sys.stderr)
        return 1
    print_log(f'deployed {result.model_file} and SDK files '
              f'{", ".join(osp.basename(f) for f in result.sdk_files)} '
              f'to {result.work_dir}', logger='current', level=logging.INFO)
    return 0


if __name__ == '__main__':
    sys.exit(main())
