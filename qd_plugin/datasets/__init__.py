from .clip_cache import (ClipCacheBuilder, ClipCacheError,
                         ClipCacheMismatchError, CorruptClipError,
                         MissingClipError, StaleClipError, build_clip_caches,
                         clip_cache_pipeline)
from .driveact_classes import (DRIVEACT_CSV_COLUMNS, DRIVEACT_MIDLEVEL_CLASSES,
                               DRIVEACT_VIEWS)
from .driveact_dataset import DriveActDataset
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
from .video_check import (CorruptVideoError, MissingVideoError,
                          VideoCheckError, count_video_frames)

__all__ = [
    'ClipCacheBuilder', 'ClipCacheError', 'ClipCacheMismatchError',
    'CorruptClipError', 'MissingClipError', 'StaleClipError',
    'build_clip_caches', 'clip_cache_pipeline',
    'DRIVEACT_CSV_COLUMNS', 'DRIVEACT_MIDLEVEL_CLASSES', 'DRIVEACT_VIEWS',
    'DriveActDataset', 'CorruptVideoError', 'MissingVideoError',
    'VideoCheckError', 'count_video_frames'
]
