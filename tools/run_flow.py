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
        '--threads', type=int, default=2, help='benchmark threads')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    repo_root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'flow_quick' if args.quick else 'flow')
    flow = CompressFlow(
        repo_root,
        work_dir,
        data_root=args.data_root,
        quick=QuickSettings() if args.quick else None,
        threads=args.threads)
    print(f'report: {flow.run()}')


if __name__ == '__main__':
    main()
