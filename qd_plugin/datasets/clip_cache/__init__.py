from .builder import OUTCOMES, ClipCacheBuilder, build_video_entries
from .check import check_clip_cache
from .errors import (ClipCacheError, ClipCacheMismatchError, CorruptClipError,
                     MissingClipError, StaleClipError)
from .extract import build_clip_caches, format_build_summary
from .index import CACHE_FORMAT, CACHE_VERSION, VideoCacheIndex
from .pipeline import (VIDEO_DECODERS, VideoSteps, cache_source,
                       clip_cache_pipeline, find_video_steps)
from .specs import format_spec, step_spec

__all__ = [
    'OUTCOMES', 'ClipCacheBuilder', 'build_video_entries', 'check_clip_cache',
    'ClipCacheError', 'ClipCacheMismatchError', 'CorruptClipError',
    'MissingClipError', 'StaleClipError', 'build_clip_caches',
    'format_build_summary', 'CACHE_FORMAT', 'CACHE_VERSION',
    'VideoCacheIndex', 'VIDEO_DECODERS', 'VideoSteps', 'cache_source',
    'clip_cache_pipeline', 'find_video_steps', 'format_spec', 'step_spec'
]
