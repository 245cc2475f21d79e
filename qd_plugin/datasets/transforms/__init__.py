from .clip_cache_decode import ClipCacheDecode
from .clip_cache_init import ClipCacheInit
from .sample_chunk_frames import SampleChunkFrames

__all__ = ['ClipCacheDecode', 'ClipCacheInit', 'SampleChunkFrames']
