"""Build the clip caches of a config's train/val/test datasets."""
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config, ConfigDict

from mmaction.registry import DATASETS
from ..driveact_layout import SUBSETS
from .builder import OUTCOMES, ClipCacheBuilder
from .pipeline import cache_source
from .specs import format_spec


def _chunk_dataset(loader_cfg: ConfigDict) -> ConfigDict:
    dataset = loader_cfg.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset  # a dataset wrapper
    return dataset


def build_clip_caches(cfg: Config,
                      out_dir: Optional[str] = None,
                      subsets: Sequence[str] = SUBSETS,
                      workers: int = 1) -> List[Dict[str, Any]]:
    """Build (or bring up to date) the clip caches of a config's datasets.

    The chunks of each subset's dataset go to ``out_dir``, or, without it,
    to the dataset's own ``clip_cache``; the subsets that share a cache must
    decode and resize alike.

    Args:
        cfg (Config): A config with ``<subset>_dataloader.dataset`` of
            ``DriveActDataset``.
        out_dir (str, optional): The cache for every subset.
        subsets (Sequence[str]): Subsets to cache. Defaults to all three.
        workers (int): Videos decoded in parallel. Defaults to 1.

    Returns:
        list[dict]: Per cache, ``cache_dir``, ``subsets`` and what
        :meth:`ClipCacheBuilder.build` returned.

    Raises:
        ValueError: A subset has no dataloader or no cache directory, or
            subsets sharing a cache have different decode or resize steps.
    """
    groups: Dict[str, Dict[str, Any]] = {}
    for subset in subsets:
        loader = cfg.get(f'{subset}_dataloader')
        if not loader:
            raise ValueError(f'the config has no {subset}_dataloader')
        dataset_cfg = _chunk_dataset(loader)
        cache_dir = out_dir or dataset_cfg.get('clip_cache')
        if not cache_dir:
            raise ValueError(
                f'{subset}_dataloader.dataset has no clip_cache: give '
                '--out-dir (out_dir) or set clip_cache in the config')
        pipeline = list(dataset_cfg.pipeline)
        source = cache_source(pipeline)
        group = groups.setdefault(
            cache_dir,
            dict(pipeline=pipeline, source=source, subsets=[], chunks=[]))
        if group['source'] != source:
            first = group['subsets'][0]
            raise ValueError(
                f'the {first} and {subset} pipelines decode or resize '
                f'differently ({format_spec(group["source"]["resize"])} vs '
                f'{format_spec(source["resize"])}): give each its own cache '
                '(run once per subset with its own --out-dir)')
        # Only the chunk list is needed: no pipeline, no serialization.
        dataset = DATASETS.build(
            dict(
                dataset_cfg.to_dict(),
                clip_cache=None,
                pipeline=[],
                serialize_data=False))
        group['subsets'].append(subset)
        group['chunks'].extend(
            dataset.get_data_info(i) for i in range(len(dataset)))
    summaries = []
    for cache_dir, group in groups.items():
        builder = ClipCacheBuilder(cache_dir, group['pipeline'], workers)
        summary = builder.build(group['chunks'])
        summaries.append(
            dict(summary, cache_dir=cache_dir, subsets=group['subsets']))
    return summaries


def format_build_summary(summary: Dict[str, Any], max_listed: int = 20) -> str:
    """A cache's build summary as text: counts, then rebuilt entries."""
    counts = ', '.join(f'{summary[o]} {o.replace("_", " ")}'
                       for o in OUTCOMES)
    lines = [
        f'clip cache {summary["cache_dir"]} ({"/".join(summary["subsets"])}):'
        f' {summary["chunks"]} chunks of {summary["videos"]} videos: {counts}'
    ]
    listed = [r for r in summary['rebuilt'] if r[3] != 'new']
    for file_id, start, end, outcome, detail in listed[:max_listed]:
        lines.append(f'  rebuilt {outcome} {file_id} [{start}, {end}): '
                     f'{detail}')
    if len(listed) > max_listed:
        lines.append(f'  ... and {len(listed) - max_listed} more')
    return '\n'.join(lines)
