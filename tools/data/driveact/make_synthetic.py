"""Write a small synthetic Drive&Act dataset in the release's layout.

Example::

    python tools/data/driveact/make_synthetic.py --out-dir data/driveact
"""
import argparse
import os.path as osp
import sys
import time
from typing import List, Optional

try:
    import qd_plugin  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, osp.join(osp.dirname(osp.realpath(__file__)), '..',
                                '..', '..'))

from qd_plugin.datasets.driveact_classes import DRIVEACT_VIEWS  # noqa: E402
from qd_plugin.datasets.driveact_layout import SUBSETS  # noqa: E402
from qd_plugin.synthetic import (  # noqa: E402
    SyntheticDataExistsError, make_synthetic_driveact)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; defaults to ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Write a synthetic Drive&Act dataset (videos and '
        'midlevel.chunks_90 split files): a driver performing Drive&Act '
        'activities, defaults as in `run_flow.py --quick`.')
    parser.add_argument(
        '--out-dir',
        default='data/driveact',
        help='output folder; gets videos/ and activities_3s/ '
        '(default: %(default)s)')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=8,
        help='the first N activities of qd_plugin.synthetic.CLASS_ORDER '
        '(default: %(default)s)')
    parser.add_argument(
        '--classes',
        nargs='+',
        metavar='ACTIVITY',
        help='the activities by name, instead of --num-classes')
    parser.add_argument('--num-participants', type=int, default=15)
    parser.add_argument('--recordings-per-participant', type=int, default=2)
    parser.add_argument(
        '--segments-per-recording',
        type=int,
        default=None,
        help='default: enough for each class 20 times per participant')
    parser.add_argument('--height', type=int, default=48)
    parser.add_argument('--width', type=int, default=60)
    parser.add_argument('--fps', type=int, default=30)
    parser.add_argument('--chunk-len', type=int, default=48)
    parser.add_argument(
        '--views',
        nargs='+',
        default=['inner_mirror'],
        choices=sorted(DRIVEACT_VIEWS),
        metavar='VIEW',
        help='camera views to render (default: inner_mirror)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='processes rendering in parallel (the data does not depend on '
        'it)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace synthetic data an earlier run wrote to --out-dir')
    return parser.parse_args(argv)


def format_summary(summary: dict, seconds: float) -> str:
    """Counts of videos and chunks per split and subset, as text.

    Args:
        summary (dict): What :func:`make_synthetic_driveact` returned.
        seconds (float): Generation time.

    Returns:
        str: The summary.
    """
    lines = [
        f'wrote {len(summary["videos"])} videos '
        f'({summary["num_frames"]} frames per view, '
        f'{len(summary["views"])} view(s)), {summary["num_segments"]} '
        f'segments of {len(summary["classes"])} classes in {seconds:.1f} s',
        f'  videos:      {summary["video_root"]}',
        f'  annotations: {summary["ann_root"]}',
    ]
    for split, counts in summary['num_chunks'].items():
        participants = summary['participants'][split]
        cells = [
            f'{subset} {counts[subset]} chunks / '
            f'{len(participants[subset])} participants' for subset in SUBSETS
        ]
        lines.append(f'  split {split}: ' + ', '.join(cells))
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    """Generate the dataset and print a summary."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        summary = make_synthetic_driveact(
            args.out_dir,
            num_classes=args.num_classes,
            classes=args.classes,
            num_participants=args.num_participants,
            recordings_per_participant=args.recordings_per_participant,
            segments_per_recording=args.segments_per_recording,
            frame_size=(args.height, args.width),
            fps=args.fps,
            chunk_len=args.chunk_len,
            views=args.views,
            seed=args.seed,
            overwrite=args.overwrite,
            workers=args.workers,
            show_progress=True)
    except SyntheticDataExistsError as error:
        sys.exit(f'error: {error.holding()}; pass --overwrite to replace it')
    except (FileExistsError, ValueError) as error:
        sys.exit(f'error: {error}')
    print(format_summary(summary, time.perf_counter() - start))


if __name__ == '__main__':
    main()
