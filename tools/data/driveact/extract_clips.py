"""Decode the chunks of a config's datasets once into a clip cache.

Each video is opened once and its chunks are decoded in order with the
config pipeline's own decode step and resized by its first ``Resize``; each
chunk becomes ``<out-dir>/<file_id>/<start>_<end>.npy`` (uint8 frames),
recorded in ``<out-dir>/<file_id>/index.json``. Up-to-date entries are kept;
new, stale (video or resize changed) and damaged ones are (re)built and
counted. Train from the cache with ``clip_cache=<out-dir>`` in the datasets.

Example::

    python tools/data/driveact/extract_clips.py configs/mbv3d_driveact.py \\
        --out-dir data/driveact/clip_cache
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import DictAction

try:
    import qd_plugin  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, osp.join(osp.dirname(osp.realpath(__file__)), '..',
                                '..', '..'))

from qd_plugin.datasets.clip_cache import (  # noqa: E402
    ClipCacheError, build_clip_caches, format_build_summary)
from qd_plugin.datasets.driveact_layout import SUBSETS  # noqa: E402
from qd_plugin.datasets.video_check import VideoCheckError  # noqa: E402
from qd_plugin.utils import load_config  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; defaults to ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Build or update the decoded-clip cache of the chunks '
        "of a config's datasets.")
    parser.add_argument('config', help='a Drive&Act config file')
    parser.add_argument(
        '--out-dir',
        help="the cache directory (default: each dataset's clip_cache)")
    parser.add_argument(
        '--subsets',
        nargs='+',
        default=list(SUBSETS),
        choices=SUBSETS,
        help='datasets whose chunks to cache (default: %(default)s)')
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='videos decoded in parallel (default: %(default)s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. data_root=DIR')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Build the caches and print what was done."""
    args = parse_args(argv)
    if args.workers < 1:
        sys.exit('error: --workers must be at least 1')
    cfg = load_config(args.config, args.cfg_options)
    try:
        summaries = build_clip_caches(cfg, args.out_dir, args.subsets,
                                      args.workers)
    except (ClipCacheError, VideoCheckError, ValueError) as error:
        sys.exit(f'error: {error}')
    for summary in summaries:
        print(format_build_summary(summary))


if __name__ == '__main__':
    main()
