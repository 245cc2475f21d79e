"""The whole compress-and-evaluate flow in one command.

(synthetic data if none is given) -> I3D teacher -> float 3D MobileNet -> KD
-> QAT -> KD+QAT -> int8 evaluation of each -> export (with the deploy extra)
-> benchmark -> ``<work_dir>/report.md``. Each stage is a standard
``tools/train.py`` / ``tools/test.py`` run with its config and logs in the work
dir; a finished stage is not run again.

Example::

    python tools/run_flow.py --quick
"""
import argparse
import os.path as osp
from typing import Optional

from qd_plugin.flow.compress_flow import CompressFlow, QuickSettings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-root',
        help='Drive&Act data (videos/, activities_3s/); default: synthetic '
        'data generated into data/driveact')
    parser.add_argument(
        '--work-dir', help='default: work_dirs/flow (work_dirs/flow_quick)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='small clips and few epochs: minutes on 2 CPU cores')
    parser.add_argument(
        '--epochs',
        nargs='+',
        default=[],
        metavar='STAGE=N',
        help='with --quick: epochs of a stage (teacher, float, kd, qat, '
        'kd_qat), e.g. --epochs float=60 kd=60 for a longer run')
    parser.add_argument(
        '--threads', type=int, default=2, help='benchmark threads')
    return parser.parse_args()


def quick_settings(args: argparse.Namespace) -> Optional[QuickSettings]:
    """``--quick`` settings with the ``--epochs`` overrides."""
    if not args.quick:
        if args.epochs:
            raise SystemExit('--epochs needs --quick (the full flow trains '
                             "each config's own schedule)")
        return None
    settings = QuickSettings()
    for item in args.epochs:
        stage, _, value = item.partition('=')
        if stage not in settings.epochs or not value.isdigit() \
                or int(value) < 1:
            raise SystemExit(
                f'--epochs {item}: expected STAGE=N with N >= 1 and STAGE '
                f'one of {", ".join(settings.epochs)}')
        settings.epochs[stage] = int(value)
    return settings


def main() -> None:
    args = parse_args()
    repo_root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'flow_quick' if args.quick else 'flow')
    flow = CompressFlow(
        repo_root,
        work_dir,
        data_root=args.data_root,
        quick=quick_settings(args),
        threads=args.threads)
    print(f'report: {flow.run()}')


if __name__ == '__main__':
    main()
