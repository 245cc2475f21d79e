"""On-disk layout of the decoded-clip cache.

A cache directory holds, per video ``<file_id>`` (e.g.
``vp1/run1b_2018-05-29-14-02-47.ids_1``)::

    <cache_dir>/<file_id>/<frame_start>_<frame_end>.npy  # uint8 (T, H, W, 3)
    <cache_dir>/<file_id>/index.json

An entry holds every frame of the chunk ``[frame_start, frame_end)``, decoded
and resized. ``index.json`` records for each entry what it was made from (the
video's path, size and mtime, the frame range, the decode and resize steps)
and what it must hold (shape, CRC-32 of every frame), so that a stale or
damaged entry is never served. Files are written to a temporary name and
renamed: an interrupted write leaves the previous file, never a partial one.
"""
import contextlib
import json
import os
import os.path as osp
import tempfile
import zlib
from typing import IO, Callable, Dict, List, Optional

import numpy as np

from .errors import CorruptClipError, MissingClipError, StaleClipError

CACHE_FORMAT = 'qd_plugin.clip_cache'
CACHE_VERSION = 1
INDEX_FILE = 'index.json'
TEMP_SUFFIX = '.tmp'
EXTRACT_SCRIPT = 'tools/data/driveact/extract_clips.py'


def rebuild_command(cache_dir: str) -> str:
    """The command that (re)builds the entries of ``cache_dir``."""
    return f'python {EXTRACT_SCRIPT} <config> --out-dir {cache_dir}'


def video_stat(path: str) -> Dict[str, int]:
    """Size and modification time (ns) of a video, as the index records."""
    stat = os.stat(path)
    return dict(size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def frame_checksums(frames: np.ndarray) -> List[int]:
    """CRC-32 of each frame's bytes."""
    return [zlib.crc32(np.ascontiguousarray(frame)) for frame in frames]


def atomic_write(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file in its folder, then rename.

    Args:
        path (str): The file to write.
        write (callable): Writes the content to the binary file it is given.
    """
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
        raise


def remove_temp_files(folder: str) -> None:
    """Remove what interrupted writes left in ``folder``."""
    if not osp.isdir(folder):
        return
    for name in os.listdir(folder):
        if name.startswith('.') and name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                os.remove(osp.join(folder, name))


def save_frames(path: str, frames: np.ndarray) -> None:
    """Write an entry atomically."""
    atomic_write(path, lambda f: np.save(f, frames, allow_pickle=False))


def _damaged(path: str, detail: str, cache_dir: str) -> CorruptClipError:
    return CorruptClipError(
        f'clip cache entry {path} is damaged: {detail}; rebuild it with: '
        f'{rebuild_command(cache_dir)}')


def _map(path: str, record: dict) -> np.ndarray:
    """Memory-map an entry; raises ValueError saying what is wrong."""
    try:
        frames = np.load(path, mmap_mode='r', allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f'cannot be read ({error})') from None
    if frames.dtype != np.uint8 or list(frames.shape) != record['shape']:
        raise ValueError(f'holds {frames.dtype} {list(frames.shape)}, its '
                         f'index says uint8 {record["shape"]}')
    return frames


def open_frames(path: str, record: dict, cache_dir: str) -> np.ndarray:
    """Memory-map an entry and check its shape against its index record.

    Args:
        path (str): The entry's ``.npy`` file.
        record (dict): Its record in the index.
        cache_dir (str): The cache, for the error message.

    Returns:
        np.ndarray: The read-only memory map, shape ``record['shape']``.

    Raises:
        MissingClipError: The file does not exist.
        CorruptClipError: It cannot be read or holds another shape.
    """
    try:
        return _map(path, record)
    except FileNotFoundError:
        raise MissingClipError(
            f'clip cache entry not found: {path}; build it with: '
            f'{rebuild_command(cache_dir)}') from None
    except ValueError as error:
        raise _damaged(path, str(error), cache_dir) from None


def read_frames(path: str, record: dict, inds: np.ndarray,
                cache_dir: str) -> np.ndarray:
    """Read frames ``inds`` (indices into the chunk) of an entry.

    Only those frames are read, and each is checked against its CRC-32.

    Args:
        path (str): The entry's ``.npy`` file.
        record (dict): Its record in the index.
        inds (np.ndarray): Frame indices into the chunk, repeats allowed.
        cache_dir (str): The cache, for error messages.

    Returns:
        np.ndarray: ``(len(inds), H, W, 3)`` uint8, in memory.

    Raises:
        MissingClipError: The file does not exist.
        CorruptClipError: It cannot be read, holds another shape or a frame
            fails its checksum.
    """
    frames = open_frames(path, record, cache_dir)
    unique, inverse = np.unique(inds, return_inverse=True)
    picked = np.array(frames[unique])
    for ind, frame in zip(unique, picked):
        if zlib.crc32(frame) != record['crc32'][ind]:
            raise _damaged(path, f'frame {ind} of the chunk fails its '
                           'checksum', cache_dir)
    return picked[inverse.reshape(-1)]


def find_damage(path: str, record: dict) -> Optional[str]:
    """Check every frame of an entry: what is wrong with it, or None."""
    try:
        frames = _map(path, record)
    except FileNotFoundError:
        return 'file missing'
    except ValueError as error:
        return str(error)
    bad = [
        i for i, (crc, want) in enumerate(
            zip(frame_checksums(frames), record['crc32'])) if crc != want
    ]
    if bad:
        return f'frame(s) {bad[:5]} of the chunk fail their checksum'
    return None


class VideoCacheIndex:
    """The index of one video's entries in a clip cache.

    Lives at ``<cache_dir>/<file_id>/index.json``; maps ``'<start>_<end>'``
    to the record of that chunk's entry.

    Args:
        cache_dir (str): The cache.
        file_id (str): The video's Drive&Act file id (its path under the
            video root, without suffix).
        entries (dict, optional): The records. Defaults to none.
    """

    def __init__(self,
                 cache_dir: str,
                 file_id: str,
                 entries: Optional[Dict[str, dict]] = None) -> None:
        self.cache_dir = cache_dir
        self.file_id = file_id
        self.entries = dict(entries or {})

    @property
    def folder(self) -> str:
        """The video's folder in the cache."""
        return osp.join(self.cache_dir, self.file_id)

    @property
    def path(self) -> str:
        """The index file."""
        return osp.join(self.folder, INDEX_FILE)

    def entry_path(self, frame_start: int, frame_end: int) -> str:
        """The ``.npy`` file of chunk ``[frame_start, frame_end)``."""
        return osp.join(self.folder, f'{frame_start}_{frame_end}.npy')

    def get(self, frame_start: int, frame_end: int) -> Optional[dict]:
        """The record of a chunk's entry, or None."""
        return self.entries.get(f'{frame_start}_{frame_end}')

    def put(self, record: dict) -> None:
        """Add or replace the record of the chunk it describes."""
        key = f'{record["frame_start"]}_{record["frame_end"]}'
        self.entries[key] = record

    def save(self) -> None:
        """Write the index atomically."""
        content = dict(
            format=CACHE_FORMAT,
            version=CACHE_VERSION,
            file_id=self.file_id,
            entries=self.entries)
        data = json.dumps(content, separators=(',', ':')).encode()
        atomic_write(self.path, lambda f: f.write(data))

    @classmethod
    def load(cls, cache_dir: str, file_id: str) -> 'VideoCacheIndex':
        """Read a video's index; an empty one where there is none yet.

        Args:
            cache_dir (str): The cache.
            file_id (str): The video's file id.

        Returns:
            VideoCacheIndex: The index.

        Raises:
            CorruptClipError: The index file is unreadable or not a clip
                cache index.
            StaleClipError: It was written by another format version.
        """
        index = cls(cache_dir, file_id)
        try:
            with open(index.path, 'rb') as f:
                content = json.loads(f.read())
        except FileNotFoundError:
            return index
        except (OSError, ValueError) as error:
            raise CorruptClipError(
                f'clip cache index {index.path} is damaged ({error}); '
                f'rebuild it with: {rebuild_command(cache_dir)}') from None
        if not isinstance(content, dict) or content.get(
                'format') != CACHE_FORMAT or not isinstance(
                    content.get('entries'), dict):
            raise CorruptClipError(
                f'{index.path} is not a clip cache index; rebuild it with: '
                f'{rebuild_command(cache_dir)}')
        if content.get('version') != CACHE_VERSION:
            raise StaleClipError(
                f'clip cache index {index.path} has format version '
                f'{content.get("version")}, this version of qd_plugin reads '
                f'{CACHE_VERSION}; rebuild it with: '
                f'{rebuild_command(cache_dir)}')
        index.entries = content['entries']
        return index
