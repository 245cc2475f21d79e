"""The whole compress-and-evaluate flow in one command (``tools/run_flow.py``,
``python -m qd_plugin.flow``, ``qd-run-flow``).

(synthetic data if none is given) -> I3D teacher -> float 3D MobileNet -> KD
-> QAT -> KD+QAT -> int8 evaluation of each -> export (with the deploy extra)
-> benchmark -> ``<work_dir>/report.md``. Each stage is a standard
``tools/train.py`` / ``tools/test.py`` run with its config and logs in the work
dir; a finished stage is not run again.

Example::

    python tools/run_flow.py --quick
    python -m qd_plugin.flow --preset medium
"""
import argparse
import os.path as osp
from typing import List, Optional

from ..utils.package_files import package_files_root
from .compress_flow import CompressFlow
from .presets import PRESETS, STAGES, FlowPreset, get_preset


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        prog='run_flow.py', description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-root',
        help='Drive&Act data (videos/, activities_3s/); default: synthetic '
        'data generated into ./data/driveact')
    parser.add_argument(
        '--work-dir',
        help='default: work_dirs/flow_<preset> (work_dirs/flow without a '
        'preset)')
    parser.add_argument(
        '--preset',
        choices=sorted(PRESETS),
        help='a CPU schedule: quick (about 8 minutes on 2 cores), medium '
        '(under an hour); default: the configs\' own (paper) settings')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='the same as --preset quick')
    parser.add_argument(
        '--epochs',
        nargs='+',
        default=[],
        metavar='STAGE=N',
        help='with a preset: epochs of a stage (teacher, float, kd, qat, '
        'kd_qat), e.g. --epochs float=60 kd=60 for a longer run')
    parser.add_argument(
        '--jobs',
        type=int,
        default=2,
        help='stages trained side by side (default: %(default)s)')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='CPU cores: the jobs share them and the benchmark uses them all '
        '(default: %(default)s)')
    return parser.parse_args(argv)


def preset_settings(args: argparse.Namespace) -> Optional[FlowPreset]:
    """The preset of ``--preset``/``--quick`` with the ``--epochs``
    overrides."""
    if args.quick and args.preset not in (None, 'quick'):
        raise SystemExit(f'--quick and --preset {args.preset} contradict '
                         'each other')
    name = 'quick' if args.quick else args.preset
    if name is None:
        if args.epochs:
            raise SystemExit('--epochs needs a preset (the full flow trains '
                             "each config's own schedule)")
        return None
    epochs = {}
    for item in args.epochs:
        stage, _, value = item.partition('=')
        if stage not in STAGES or not value.isdigit() or int(value) < 1:
            raise SystemExit(
                f'--epochs {item}: expected STAGE=N with N >= 1 and STAGE '
                f'one of {", ".join(STAGES)}')
        epochs[stage] = int(value)
    return get_preset(name, epochs)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the flow; prints the report's path."""
    args = parse_args(argv)
    preset = preset_settings(args)
    if args.jobs < 1 or args.threads < 1:
        raise SystemExit('--jobs and --threads must be at least 1')
    work_dir = args.work_dir or osp.join(
        'work_dirs', f'flow_{preset.name}' if preset else 'flow')
    flow = CompressFlow(
        package_files_root(),
        work_dir,
        data_root=args.data_root,
        preset=preset,
        threads=args.threads,
        jobs=args.jobs)
    print(f'report: {flow.run()}')
