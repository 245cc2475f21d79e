"""Cheap build-time checks that a video exists and decodes."""
import os.path as osp


class VideoCheckError(Exception):
    """A video that the annotations reference cannot be used."""


class MissingVideoError(VideoCheckError, FileNotFoundError):
    """The video file does not exist."""


class CorruptVideoError(VideoCheckError, ValueError):
    """The video exists but does not decode (truncated or corrupt)."""


def count_video_frames(path: str) -> int:
    """Open ``path`` with decord, decode its last frame, return its length.

    Decoding the last frame catches files cut short after their index was
    written, at the cost of one seek.

    Args:
        path (str): The video file.

    Returns:
        int: Number of frames.

    Raises:
        MissingVideoError: ``path`` does not exist.
        CorruptVideoError: ``path`` cannot be opened or decoded.
    """
    if not osp.isfile(path):
        raise MissingVideoError(f'video not found: {path}')
    import decord
    try:
        reader = decord.VideoReader(path, num_threads=1)
        num_frames = len(reader)
        if num_frames == 0:
            raise CorruptVideoError(f'video has no frames: {path}')
        reader.get_batch([num_frames - 1])
    except (decord.DECORDError, RuntimeError) as error:
        raise CorruptVideoError(f'cannot decode video {path}: '
                                f'{str(error).splitlines()[0]}') from None
    return num_frames
