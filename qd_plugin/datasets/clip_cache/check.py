"""Checks that a clip cache serves the current videos as the pipeline asks."""
import os.path as osp
from datetime import datetime
from typing import Any, Dict, List, Optional

from ..video_check import MissingVideoError
from .errors import (ClipCacheMismatchError, MissingClipError,
                     StaleClipError)
from .index import VideoCacheIndex, rebuild_command, video_stat
from .specs import format_spec


def _when(mtime_ns: int) -> str:
    seconds, nanoseconds = divmod(mtime_ns, 10**9)
    return (f'{datetime.fromtimestamp(seconds).isoformat(sep=" ")}'
            f'.{nanoseconds:09d}')


def describe_chunk(sample: dict) -> str:
    """``<video> frames [start, end) (<annotation row>)``."""
    where = (f'{sample["filename"]} frames [{sample["frame_start"]}, '
             f'{sample["frame_end"]})')
    if sample.get('ann_row'):
        where += f' ({sample["ann_row"]})'
    return where


def stale_reason(record: dict, stat: Dict[str, int]) -> Optional[str]:
    """Why an entry is not from the video as it is now, or None."""
    made = record['video']
    if made['size'] == stat['size'] and made['mtime_ns'] == stat['mtime_ns']:
        return None
    return (f'was made from {made["path"]} of {made["size"]} bytes modified '
            f'{_when(made["mtime_ns"])}, but the video now has '
            f'{stat["size"]} bytes, modified {_when(stat["mtime_ns"])}')


def check_source(record: dict, source: Dict[str, Any], cache_dir: str,
                 where: str) -> None:
    """Raise unless an entry was decoded and resized as ``source`` says.

    Args:
        record (dict): The entry's index record.
        source (dict): ``dict(decode=..., resize=...)`` specs the pipeline
            needs (see :func:`cache_source`).
        cache_dir (str): The cache.
        where (str): The chunk, for the message.

    Raises:
        ClipCacheMismatchError: Naming the cache, both specs and the command
            that rebuilds the cache.
    """
    made = record['source']
    if made == source:
        return
    if made['resize'] != source['resize']:
        what = (f'resized with {format_spec(made["resize"])}, but the '
                "pipeline's first Resize after the decode is "
                f'{format_spec(source["resize"])}')
    else:
        what = (f'decoded with {format_spec(made["decode"])}, but the '
                f'pipeline decodes with {format_spec(source["decode"])}')
    raise ClipCacheMismatchError(
        f'clip cache {cache_dir} does not fit the pipeline: its entry of '
        f'{where} was {what}; rebuild the cache for this pipeline with: '
        f'{rebuild_command(cache_dir)} (or point clip_cache to a cache made '
        'for it)')


def check_clip_cache(data_list: List[dict], cache_dir: str,
                     source: Dict[str, Any]) -> None:
    """Check, at dataset build, that the cache can serve every chunk.

    Every referenced video's size and mtime are compared with what each of
    its entries was made from, and every entry's decode and resize steps with
    the pipeline's. The entries' contents are checked when they are read
    (:class:`ClipCacheDecode`).

    Args:
        data_list (list[dict]): Samples with ``filename``, ``file_id``,
            ``frame_start``, ``frame_end`` (and ``ann_row``).
        cache_dir (str): The clip cache.
        source (dict): What the entries must be made with.

    Raises:
        MissingClipError: The cache has no entry for some chunks (names the
            first ones and the command that builds them).
        StaleClipError: Some entries were made from another version of their
            video (names the chunk, the video and the fix).
        ClipCacheMismatchError: An entry was decoded or resized differently.
        MissingVideoError: A referenced video does not exist.
        CorruptClipError: A video's index is unreadable.
    """
    if not osp.isdir(cache_dir):
        raise MissingClipError(f'clip cache {cache_dir} does not exist; '
                               f'build it with: {rebuild_command(cache_dir)}')
    by_video: Dict[str, List[dict]] = {}
    for sample in data_list:
        by_video.setdefault(sample['file_id'], []).append(sample)
    missing, stale = [], []
    for file_id, samples in by_video.items():
        index = VideoCacheIndex.load(cache_dir, file_id)
        filename = samples[0]['filename']
        try:
            stat = video_stat(filename)
        except FileNotFoundError:
            raise MissingVideoError(
                f'video not found: {filename} (first used at '
                f'{samples[0].get("ann_row")})') from None
        for sample in samples:
            start, end = sample['frame_start'], sample['frame_end']
            record = index.get(start, end)
            if record is None or not osp.isfile(index.entry_path(start, end)):
                missing.append(sample)
                continue
            reason = stale_reason(record, stat)
            if reason is not None:
                stale.append((sample, reason))
                continue
            check_source(record, source, cache_dir, describe_chunk(sample))
    if missing:
        examples = '; '.join(describe_chunk(s) for s in missing[:3])
        raise MissingClipError(
            f'clip cache {cache_dir} has no entry for {len(missing)} of the '
            f'{len(data_list)} chunks, e.g. {examples}; build them with: '
            f'{rebuild_command(cache_dir)}')
    if stale:
        sample, reason = stale[0]
        videos = len({s['file_id'] for s, _ in stale})
        raise StaleClipError(
            f'clip cache {cache_dir} is stale for {len(stale)} chunks of '
            f'{videos} video(s): the entry of {describe_chunk(sample)} '
            f'{reason}; rebuild the stale entries with: '
            f'{rebuild_command(cache_dir)}')
