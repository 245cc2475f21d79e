import os
from typing import Any, Dict, Optional, Tuple

from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ..clip_cache.check import check_source, describe_chunk, stale_reason
from ..clip_cache.errors import MissingClipError, StaleClipError
from ..clip_cache.index import VideoCacheIndex, rebuild_command, video_stat


@TRANSFORMS.register_module()
class ClipCacheInit(BaseTransform):
    """Find a chunk's entry in a decoded-clip cache (instead of opening the
    video).

    Takes the place of ``DecordInit``/``OpenCVInit``/``PyAVInit``; pair it
    with :class:`ClipCacheDecode` in place of the decode step, and drop the
    ``Resize`` that the entries have applied. ``DriveActDataset(clip_cache=
    DIR)`` rewrites its pipeline so. Build the cache with
    ``tools/data/driveact/extract_clips.py``.

    Each call checks that the entry exists and was made from the video as it
    is now (size and mtime) and, if ``source`` is given, with those decode and
    resize steps. Video indexes are read once and again only when they change.

    Required keys are ``filename``, ``file_id``, ``frame_start`` and
    ``frame_end``; added keys are ``total_frames`` (of the whole video),
    ``avg_fps`` (where the decoder gave it) and ``clip_cache_entry``.

    Args:
        cache_dir (str): The clip cache.
        source (dict, optional): ``dict(decode=<spec>, resize=<spec>)`` the
            entries must have been made with (see
            :func:`qd_plugin.datasets.clip_cache.cache_source`); None accepts
            any. Defaults to None.
    """

    def __init__(self,
                 cache_dir: str,
                 source: Optional[Dict[str, Any]] = None) -> None:
        self.cache_dir = cache_dir
        self.source = source
        self._indexes: Dict[str, Tuple[int, VideoCacheIndex]] = {}

    def _index(self, file_id: str) -> VideoCacheIndex:
        index = VideoCacheIndex(self.cache_dir, file_id)
        try:
            version = os.stat(index.path).st_mtime_ns
        except FileNotFoundError:
            version = -1
        cached = self._indexes.get(file_id)
        if cached is None or cached[0] != version:
            cached = (version, VideoCacheIndex.load(self.cache_dir, file_id))
            self._indexes[file_id] = cached
        return cached[1]

    def transform(self, results: Dict) -> Dict:
        """Look up the entry of ``results``' chunk.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict.

        Raises:
            MissingClipError: The cache has no entry for the chunk.
            StaleClipError: The video changed since the entry was made.
            ClipCacheMismatchError: The entry was made with other decode or
                resize steps than ``source``.
        """
        start, end = results['frame_start'], results['frame_end']
        index = self._index(results['file_id'])
        record = index.get(start, end)
        if record is None:
            raise MissingClipError(
                f'clip cache {self.cache_dir} has no entry for '
                f'{describe_chunk(results)}; build it with: '
                f'{rebuild_command(self.cache_dir)}')
        reason = stale_reason(record, video_stat(results['filename']))
        if reason is not None:
            raise StaleClipError(
                f'clip cache entry {index.entry_path(start, end)} {reason}; '
                f'rebuild it with: {rebuild_command(self.cache_dir)}')
        if self.source is not None:
            check_source(record, self.source, self.cache_dir,
                         describe_chunk(results))
        results['total_frames'] = record['video']['total_frames']
        if record['video'].get('avg_fps') is not None:
            results['avg_fps'] = record['video']['avg_fps']
        results['clip_cache_entry'] = dict(
            record,
            path=index.entry_path(start, end),
            cache_dir=self.cache_dir)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(cache_dir={self.cache_dir!r})'
