from .sample_chunk_frames import SampleChunkFrames

__all__ = ['SampleChunkFrames']
