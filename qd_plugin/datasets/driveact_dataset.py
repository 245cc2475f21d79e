import logging
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmaction.utils import ConfigType
from .clip_cache import check_clip_cache, clip_cache_pipeline
from .driveact_classes import (DRIVEACT_CSV_COLUMNS, DRIVEACT_MIDLEVEL_CLASSES,
                               DRIVEACT_VIEWS)
from .driveact_layout import SUBSETS, split_file_path
from .split_csv import check_file_id, read_split_rows
from .video_check import VideoCheckError, count_video_frames


class SampleLoadError(RuntimeError):
    """A sample failed in the pipeline (e.g. its video no longer decodes)."""


@DATASETS.register_module()
class DriveActDataset(BaseActionDataset):
    """Drive&Act fine-grained activities, one sample per annotated chunk.

    Reads the official annotation layout
    ``<ann_root>/<view>/midlevel.chunks_90.split_<split>.<subset>.csv``
    (columns ``participant_id, file_id, annotation_id, frame_start,
    frame_end, activity, chunk_id``). A row is a chunk of at most 90 frames
    ``[frame_start, frame_end)`` of the long recording at
    ``<data_prefix['video']>/<file_id><suffix>``; pair the dataset with
    :class:`SampleChunkFrames` to sample clips inside the chunk. The label is
    the activity's index in ``classes`` (the pinned 34 midlevel classes).

    Bad annotations or videos raise at build time, naming the file and row:
    a missing split file or column, bytes that are not UTF-8 (a BOM is
    accepted), a row with too few or too many fields, an unknown view or
    activity, a ``file_id`` outside the video root (absolute or with
    ``..``), a duplicated chunk (file_id, annotation_id, chunk_id), an empty
    split, a missing or unreadable video, a frame range beyond the video.
    A sample that fails later, in the pipeline (a video that is not checked
    or breaks after the check), raises :class:`SampleLoadError` naming its
    video, frames and annotation row.

    With ``clip_cache``, the video decoding of the pipeline is served from a
    decoded-clip cache built by ``tools/data/driveact/extract_clips.py``: its
    decoder init and decode steps become :class:`ClipCacheInit` and
    :class:`ClipCacheDecode` and the ``Resize`` right after the decode, which
    the cache has applied, is dropped. At build time every chunk must have an
    entry made from its video as it is now (size, mtime) with the same decode
    and resize steps; at load each entry's shape and the sampled frames'
    checksums are verified.

    Args:
        ann_root (str): Root of the annotations (``activities_3s`` in the
            Drive&Act release).
        pipeline (list[dict | callable]): The data transforms.
        data_prefix (dict): ``dict(video=<root of the videos>)``.
            Defaults to ``dict(video='')``.
        split (int): Cross-validation split, 0, 1 or 2. Defaults to 0.
        subset (str): ``'train'``, ``'val'`` or ``'test'``.
            Defaults to ``'train'``.
        views (str | Sequence[str]): Camera view(s) whose chunks to use, e.g.
            ``'inner_mirror'``. Defaults to ``'inner_mirror'``.
        suffix (str): Appended to ``file_id`` to name the video file.
            Defaults to ``'.mp4'``.
        classes (Sequence[str]): Class names; labels are their indices.
            Defaults to the 34 Drive&Act midlevel classes.
        check_videos (bool): Open every referenced video once at build time to
            check that it decodes and holds every chunk's frames.
            Defaults to True.
        skip_bad_videos (bool): Drop the chunks of missing or unreadable
            videos with a warning and a count instead of raising.
            Defaults to False.
        clip_cache (str, optional): A decoded-clip cache directory to read
            the chunks' frames from instead of decoding the videos.
            Defaults to None.
        test_mode (bool): Build for validation/testing. Defaults to False.
        **kwargs: Other arguments of :class:`BaseActionDataset`.
    """

    def __init__(self,
                 ann_root: str,
                 pipeline: List[Union[ConfigType, Callable]],
                 data_prefix: ConfigType = dict(video=''),
                 split: int = 0,
                 subset: str = 'train',
                 views: Union[str, Sequence[str]] = 'inner_mirror',
                 suffix: str = '.mp4',
                 classes: Sequence[str] = DRIVEACT_MIDLEVEL_CLASSES,
                 check_videos: bool = True,
                 skip_bad_videos: bool = False,
                 clip_cache: Optional[str] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if subset not in SUBSETS:
            raise ValueError(f'subset must be one of {SUBSETS}, got {subset!r}')
        views = (views, ) if isinstance(views, str) else tuple(views)
        unknown = [view for view in views if view not in DRIVEACT_VIEWS]
        if unknown:
            raise ValueError(f'unknown Drive&Act view(s) {unknown}; expected '
                             f'some of {sorted(DRIVEACT_VIEWS)}')
        self.ann_root = ann_root
        self.split = split
        self.subset = subset
        self.views = views
        self.suffix = suffix
        self.check_videos = check_videos
        self.skip_bad_videos = skip_bad_videos
        self.num_skipped = 0
        self.clip_cache = clip_cache
        if clip_cache is not None:
            pipeline, self.clip_cache_source = clip_cache_pipeline(
                pipeline, clip_cache)
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        metainfo.setdefault('classes', tuple(classes))
        super().__init__(
            ann_file='',
            pipeline=pipeline,
            data_prefix=data_prefix,
            test_mode=test_mode,
            metainfo=metainfo,
            **kwargs)

    def split_file(self, view: str) -> str:
        """Path of the annotation CSV of ``view`` for this split and subset."""
        return split_file_path(self.ann_root, view, self.split, self.subset)

    def load_data_list(self) -> List[dict]:
        """Parse the split files of every view and check the videos."""
        data_list = []
        for view in self.views:
            data_list.extend(self._parse_split_file(self.split_file(view), view))
        self._add_file_ids(data_list)
        if self.check_videos:
            data_list = self._check_videos(data_list)
        if self.clip_cache is not None:
            check_clip_cache(data_list, self.clip_cache,
                             self.clip_cache_source)
        return data_list

    def _add_file_ids(self, data_list: List[dict]) -> None:
        """Give each sample its ``file_id`` (the video's path under the video
        root, without suffix), the key of the clip cache."""
        video_root = self.data_prefix.get('video') or ''
        for sample in data_list:
            if 'file_id' not in sample:
                file_id = osp.relpath(sample['filename'], video_root or '.')
                if self.suffix and file_id.endswith(self.suffix):
                    file_id = file_id[:-len(self.suffix)]
                sample['file_id'] = file_id

    def _parse_split_file(self, path: str, view: str) -> List[dict]:
        if not osp.isfile(path):
            raise FileNotFoundError(f'Drive&Act split file not found: {path}')
        label_of = {name: i for i, name in enumerate(self.metainfo['classes'])}
        video_root = self.data_prefix.get('video') or ''
        samples = []
        first_line: Dict[tuple, int] = {}
        for line, row in read_split_rows(path, DRIVEACT_CSV_COLUMNS):
            where = f'{path}, line {line}'
            if row['activity'] not in label_of:
                raise ValueError(f'{where}: unknown activity '
                                 f'{row["activity"]!r}')
            try:
                frame_start = int(row['frame_start'])
                frame_end = int(row['frame_end'])
            except (TypeError, ValueError):
                raise ValueError(f'{where}: frame_start/frame_end must be '
                                 f'integers, got {row["frame_start"]!r}, '
                                 f'{row["frame_end"]!r}') from None
            if not 0 <= frame_start < frame_end:
                raise ValueError(f'{where}: empty or negative frame range '
                                 f'[{frame_start}, {frame_end})')
            check_file_id(row['file_id'], where)
            key = (row['file_id'], row['annotation_id'], row['chunk_id'])
            if key in first_line:
                raise ValueError(
                    f'{where}: duplicate of line {first_line[key]} (same '
                    'file_id, annotation_id, chunk_id '
                    f'{", ".join(map(repr, key))})')
            first_line[key] = line
            samples.append(
                dict(
                    filename=osp.join(video_root,
                                      row['file_id'] + self.suffix),
                    label=label_of[row['activity']],
                    frame_start=frame_start,
                    frame_end=frame_end,
                    participant_id=row['participant_id'],
                    annotation_id=row['annotation_id'],
                    chunk_id=row['chunk_id'],
                    view=view,
                    ann_row=where))
        if not samples:
            raise ValueError(f'{path}: the split file holds no chunks')
        return samples

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for sample ``idx``.

        Raises:
            SampleLoadError: The pipeline failed; names the sample's video,
                frame range and annotation row (the decoders read the video
                from memory and do not).
        """
        try:
            return super().prepare_data(idx)
        except Exception as error:
            info = self.get_data_info(idx)
            raise SampleLoadError(
                f'cannot load sample {idx}: {info["filename"]} frames '
                f'[{info["frame_start"]}, {info["frame_end"]}) '
                f'({info["ann_row"]}): {type(error).__name__}: {error}'
            ) from error

    def _check_videos(self, data_list: List[dict]) -> List[dict]:
        frames: Dict[str, Optional[int]] = {}
        for sample in data_list:
            filename = sample['filename']
            if filename not in frames:
                try:
                    frames[filename] = count_video_frames(filename)
                except VideoCheckError as error:
                    if not self.skip_bad_videos:
                        raise type(error)(
                            f'{error} (first used at {sample["ann_row"]})'
                        ) from None
                    print_log(f'skipping the chunks of {filename}: {error}',
                              logger='current', level=logging.WARNING)
                    frames[filename] = None
        kept = []
        for sample in data_list:
            total_frames = frames[sample['filename']]
            if total_frames is None:
                continue
            if sample['frame_end'] > total_frames:
                raise ValueError(
                    f'{sample["ann_row"]}: frame range [{sample["frame_start"]}'
                    f', {sample["frame_end"]}) is beyond the {total_frames} '
                    f'frames of {sample["filename"]}')
            kept.append(sample)
        self.num_skipped = len(data_list) - len(kept)
        if self.num_skipped:
            bad = sum(n is None for n in frames.values())
            print_log(f'skipped {self.num_skipped} chunks of {bad} bad videos',
                      logger='current', level=logging.WARNING)
        if not kept:
            raise ValueError('no chunk of this split has a readable video')
        return kept
