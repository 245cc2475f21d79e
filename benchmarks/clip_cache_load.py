"""Per-sample load time of Drive&Act chunks: from the video vs from the
decoded-clip cache.

Builds the cache for a config's train and test chunks, then times
``dataset[i]`` (the whole data pipeline, one process) for the same samples
from the video and from the cache, in alternating blocks, several rounds;
prints the median per-sample time of each and their ratio, per subset and
pipeline preset:

* ``quick``: the ``run_flow.py --quick`` pipeline (8 frames 4 apart, 32x32);
* ``config``: the config's own pipeline (16 frames, Resize to 256, 224 crop).

Example (synthetic data as the quick flow makes it)::

    python tools/data/driveact/make_synthetic.py --out-dir /tmp/da \\
        --height 48 --width 64
    python benchmarks/clip_cache_load.py --data-root /tmp/da
"""
import argparse
import json
import os.path as osp
import re
import shutil
import statistics
import sys
import tempfile
import time
from typing import Dict, List

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from mmaction.registry import DATASETS  # noqa: E402
from mmaction.utils import register_all_modules  # noqa: E402

from qd_plugin.datasets import build_clip_caches  # noqa: E402
from qd_plugin.flow.presets import PRESETS  # noqa: E402
from qd_plugin.flow.quick import shrink_pipeline  # noqa: E402
from qd_plugin.utils import load_config  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-root',
        required=True,
        help='a Drive&Act layout (videos/, activities_3s/)')
    parser.add_argument('--config', default='configs/mbv3d_driveact.py')
    parser.add_argument(
        '--cache-dir',
        help='where to build the caches (default: a temporary folder, '
        'removed at the end; the config preset takes ~20 MB per chunk of '
        '90 frames)')
    parser.add_argument(
        '--presets', nargs='+', default=['quick', 'config'],
        choices=['quick', 'config'])
    parser.add_argument('--samples', type=int, default=40,
                        help='samples timed per subset and round')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--json', help='also write the results here')
    return parser.parse_args()


def cpu_flags() -> str:
    with open('/proc/cpuinfo') as f:
        flags = set(re.findall(r'avx512_vnni|avx2|amx', f.read()))
    return ' '.join(sorted(flags)) or 'none of avx2/avx512_vnni/amx'


def time_samples(dataset, indices: List[int]) -> List[float]:
    times = []
    for idx in indices:
        start = time.perf_counter()
        dataset[idx]
        times.append(time.perf_counter() - start)
    return times


def run(args: argparse.Namespace, cache_root: str) -> None:
    """Build the caches under ``cache_root``, time, print the table."""
    quick = PRESETS['quick']
    rows: List[Dict] = []
    for preset in args.presets:
        cfg = load_config(osp.join(REPO_ROOT, args.config))
        for name in ('train_dataloader', 'test_dataloader'):
            dataset_cfg = cfg[name].dataset
            dataset_cfg.ann_root = osp.join(args.data_root, 'activities_3s')
            dataset_cfg.data_prefix = dict(
                video=osp.join(args.data_root, 'videos'))
            if preset == 'quick':
                dataset_cfg.pipeline = shrink_pipeline(
                    dataset_cfg.pipeline, quick.clip_len, quick.size,
                    quick.frame_interval)
        cache_dir = osp.join(cache_root, preset)
        start = time.perf_counter()
        summary, = build_clip_caches(cfg, cache_dir, ['train', 'test'])
        build_s = time.perf_counter() - start
        print(f'\n{preset}: built {summary["new"]} entries '
              f'({summary["chunks"]} chunks) in {build_s:.1f} s')
        for subset in ('train', 'test'):
            dataset_cfg = cfg[f'{subset}_dataloader'].dataset.to_dict()
            from_video = DATASETS.build(dataset_cfg)
            from_cache = DATASETS.build(dict(dataset_cfg, clip_cache=cache_dir))
            indices = list(range(min(args.samples, len(from_video))))
            times = {'video': [], 'cache': []}
            time_samples(from_video, indices[:3])  # warm-up
            time_samples(from_cache, indices[:3])
            for round_ in range(args.rounds):
                order = ('video', 'cache') if round_ % 2 == 0 else ('cache',
                                                                   'video')
                for source in order:
                    dataset = from_video if source == 'video' else from_cache
                    times[source].extend(time_samples(dataset, indices))
            video_ms = statistics.median(times['video']) * 1e3
            cache_ms = statistics.median(times['cache']) * 1e3
            row = dict(
                preset=preset,
                subset=subset,
                samples=len(times['video']),
                video_ms=round(video_ms, 3),
                cache_ms=round(cache_ms, 3),
                ratio=round(video_ms / cache_ms, 2),
                build_s=round(build_s, 2),
                chunks=summary['chunks'])
            rows.append(row)
            print(f'  {subset:5s}: video {video_ms:7.2f} ms, cache '
                  f'{cache_ms:7.2f} ms per sample (median of '
                  f'{row["samples"]}): {row["ratio"]:.1f}x faster')
    print(f'\nCPU flags: {cpu_flags()}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(rows=rows, cpu_flags=cpu_flags()), f, indent=2)


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    if args.cache_dir:
        run(args, args.cache_dir)
    else:
        cache_root = tempfile.mkdtemp(prefix='clip_cache_')
        try:
            run(args, cache_root)
        finally:
            shutil.rmtree(cache_root)

if __name__ == '__main__':
    main()
