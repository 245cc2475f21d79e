"""Decode the chunks of long videos once into a clip cache."""
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress

from mmaction.registry import TRANSFORMS
from .check import stale_reason
from .errors import ClipCacheError, StaleClipError
from .index import (VideoCacheIndex, find_damage, frame_checksums,
                    remove_temp_files, save_frames, video_stat)
from .pipeline import cache_source, find_video_steps

_SAVE_EVERY_S = 2.0

#: How an entry was found: kept as it was, or rebuilt for this reason.
OUTCOMES = ('up_to_date', 'new', 'stale', 'damaged')


class _ChunkReader:
    """Reads chunks of one video with the pipeline's own decode and resize
    transforms, opening the video once."""

    def __init__(self, steps: Dict[str, Optional[dict]], filename: str,
                 block_frames: int) -> None:
        self.decode = TRANSFORMS.build(steps['decode'])
        self.resize = (None if steps['resize'] is None else TRANSFORMS.build(
            steps['resize']))
        self.block_frames = block_frames
        self.opened = TRANSFORMS.build(steps['init'])(
            dict(filename=filename, modality='RGB', start_index=0))
        self.reader = self.opened['video_reader']

    def read(self, start: int, end: int) -> Tuple[np.ndarray, dict]:
        """Frames ``[start, end)``, decoded and resized, and their facts."""
        frames: List[np.ndarray] = []
        for first in range(start, end, self.block_frames):
            results = dict(
                self.opened,
                video_reader=self.reader,
                frame_inds=np.arange(first, min(first + self.block_frames,
                                                end)))
            results = self.decode(results)
            original_shape = results['original_shape']
            if self.resize is not None:
                results = self.resize(results)
            frames.extend(results['imgs'])
        facts = dict(
            original_shape=list(original_shape),
            total_frames=int(self.opened['total_frames']),
            avg_fps=(None if self.opened.get('avg_fps') is None else float(
                self.opened['avg_fps'])))
        return np.stack(frames), facts


def _outcome(index: VideoCacheIndex, start: int, end: int,
             stat: Dict[str, int], source: dict,
             index_problem: Optional[str]) -> Tuple[str, str]:
    record = index.get(start, end)
    if record is None:
        return (index_problem, 'index unreadable') if index_problem else (
            'new', '')
    reason = stale_reason(record, stat)
    if reason is not None:
        return 'stale', f'the entry {reason}'
    if record.get('source') != source:
        return 'stale', 'made with other decode/resize steps'
    damage = find_damage(index.entry_path(start, end), record)
    if damage is not None:
        return 'damaged', damage
    return 'up_to_date', ''


def build_video_entries(task: Dict[str, Any]) -> Dict[str, Any]:
    """Bring the entries of one video's chunks up to date.

    Up-to-date entries (same video size and mtime, same decode and resize
    steps, every frame matching its checksum) are kept; the others are
    decoded, in order, from one opening of the video, each written
    atomically and recorded in the video's index at once, so an interrupted
    run keeps every entry it finished.

    Args:
        task (dict): ``cache_dir``, ``file_id``, ``filename``, ``chunks``
            (``[start, end]`` pairs), ``steps`` (``init``, ``decode``,
            ``resize`` transform configs), ``source`` and ``block_frames``.

    Returns:
        dict: A count per outcome of :data:`OUTCOMES`, and ``rebuilt``:
        ``(file_id, start, end, outcome, detail)`` of each rebuilt entry.
    """
    cache_dir, file_id = task['cache_dir'], task['file_id']
    filename, source = task['filename'], task['source']
    try:
        index = VideoCacheIndex.load(cache_dir, file_id)
        index_problem = None
    except ClipCacheError as error:
        index = VideoCacheIndex(cache_dir, file_id)
        index_problem = 'stale' if isinstance(error,
                                              StaleClipError) else 'damaged'
    stat = video_stat(filename)
    summary: Dict[str, Any] = {outcome: 0 for outcome in OUTCOMES}
    summary['rebuilt'] = []
    todo = []
    for start, end in sorted({tuple(chunk) for chunk in task['chunks']}):
        outcome, detail = _outcome(index, start, end, stat, source,
                                   index_problem)
        if outcome == 'up_to_date':
            summary[outcome] += 1
        else:
            todo.append((start, end, outcome, detail))
    if not todo:
        return summary
    remove_temp_files(index.folder)
    reader = _ChunkReader(task['steps'], filename, task['block_frames'])
    try:
        _build_entries(index, reader, todo, filename, stat, source, summary)
    finally:
        # Entries written but not yet indexed are rebuilt by the next run.
        index.save()
    if video_stat(filename) != stat:
        raise RuntimeError(
            f'{filename} changed while its chunks were decoded; its entries '
            'are recorded as made from the earlier version and will be '
            'rebuilt: run again')
    return summary


def _build_entries(index: VideoCacheIndex, reader: _ChunkReader,
                   todo: List[Tuple[int, int, str, str]], filename: str,
                   stat: Dict[str, int], source: dict,
                   summary: Dict[str, Any]) -> None:
    """Decode, write and index the entries of ``todo``; the index is saved
    every few seconds (saving it after every entry made a long video's build
    quadratic)."""
    last_save = time.monotonic()
    for start, end, outcome, detail in todo:
        frames, facts = reader.read(start, end)
        save_frames(index.entry_path(start, end), frames)
        index.put(
            dict(
                frame_start=start,
                frame_end=end,
                video=dict(
                    path=osp.abspath(filename),
                    size=stat['size'],
                    mtime_ns=stat['mtime_ns'],
                    total_frames=facts['total_frames'],
                    avg_fps=facts['avg_fps']),
                source=source,
                original_shape=facts['original_shape'],
                shape=list(frames.shape),
                dtype=str(frames.dtype),
                crc32=frame_checksums(frames)))
        summary[outcome] += 1
        summary['rebuilt'].append(
            (index.file_id, start, end, outcome, detail))
        if time.monotonic() - last_save > _SAVE_EVERY_S:
            index.save()
            last_save = time.monotonic()


class ClipCacheBuilder:
    """Builds a decoded-clip cache for the chunks of a pipeline's videos.

    Each video is opened once and its chunks are decoded in order with the
    pipeline's own decode step and resized with its own ``Resize`` (the one
    right after the decode), so the entries are bit-identical to what the
    pipeline computes. The build is incremental: up-to-date entries are
    kept, new, stale and damaged ones (re)built and counted.

    Args:
        cache_dir (str): The cache to build or update.
        pipeline (Sequence[dict]): The data pipeline the cache serves (a
            video-decoding one: ``DecordInit`` ... ``DecordDecode`` or the
            OpenCV pair, optionally followed by ``Resize``).
        workers (int): Videos decoded in parallel. Defaults to 1.
        block_frames (int): Frames decoded per call of the decode step.
            Defaults to 16.
    """

    def __init__(self,
                 cache_dir: str,
                 pipeline: Sequence[dict],
                 workers: int = 1,
                 block_frames: int = 16) -> None:
        video_steps = find_video_steps(pipeline)
        self.cache_dir = cache_dir
        self.source = cache_source(pipeline, video_steps)
        self.steps = dict(
            init=dict(pipeline[video_steps.init]),
            decode=dict(pipeline[video_steps.decode]),
            resize=(None if video_steps.resize is None else dict(
                pipeline[video_steps.resize])))
        self.workers = workers
        self.block_frames = block_frames

    def build(self, chunks: Sequence[dict]) -> Dict[str, Any]:
        """Bring the entries of ``chunks`` up to date.

        Args:
            chunks (Sequence[dict]): Samples with ``filename``, ``file_id``,
                ``frame_start`` and ``frame_end`` (e.g. a dataset's data
                infos); repeats are built once.

        Returns:
            dict: ``chunks`` and ``videos`` (distinct ones), a count per
            outcome of :data:`OUTCOMES`, and ``rebuilt`` (see
            :func:`build_video_entries`).
        """
        tasks: Dict[str, Dict[str, Any]] = {}
        for chunk in chunks:
            task = tasks.setdefault(
                chunk['file_id'],
                dict(
                    cache_dir=self.cache_dir,
                    file_id=chunk['file_id'],
                    filename=chunk['filename'],
                    chunks=[],
                    steps=self.steps,
                    source=self.source,
                    block_frames=self.block_frames))
            task['chunks'].append((chunk['frame_start'], chunk['frame_end']))
        task_list = list(tasks.values())
        if not task_list:
            results = []
        elif self.workers > 1 and len(task_list) > 1:
            results = track_parallel_progress(build_video_entries, task_list,
                                              self.workers)
        else:
            results = track_progress(build_video_entries, task_list)
        summary: Dict[str, Any] = dict(
            chunks=sum(len(set(t['chunks'])) for t in task_list),
            videos=len(task_list),
            rebuilt=[])
        for outcome in OUTCOMES:
            summary[outcome] = sum(result[outcome] for result in results)
        for result in results:
            summary['rebuilt'].extend(result['rebuilt'])
        return summary
