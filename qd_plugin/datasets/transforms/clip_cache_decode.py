from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ..clip_cache.index import read_frames


@TRANSFORMS.register_module()
class ClipCacheDecode(BaseTransform):
    """Read the sampled frames of a chunk from its decoded-clip cache entry.

    Takes the place of the decode step and of the ``Resize`` the entry has
    applied, and gives the same results: the frames, ``original_shape`` (of
    the video), ``img_shape`` and, where the entry was resized, Resize's
    ``keep_ratio`` and ``scale_factor``. The entry is memory-mapped and only
    the sampled frames are read, each checked against its CRC-32; its shape
    is checked against the index.

    Required keys are ``clip_cache_entry`` (from :class:`ClipCacheInit`) and
    ``frame_inds`` (indices into the whole video, inside the chunk); added or
    modified keys are ``imgs``, ``original_shape``, ``img_shape``,
    ``frame_inds`` and, after a resize, ``keep_ratio`` and ``scale_factor``.
    """

    def transform(self, results: Dict) -> Dict:
        """Read the frames.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict.

        Raises:
            ValueError: A frame index is outside the chunk.
            CorruptClipError: The entry is damaged.
        """
        entry = results.pop('clip_cache_entry')
        if results['frame_inds'].ndim != 1:
            results['frame_inds'] = np.squeeze(results['frame_inds'])
        start, end = entry['frame_start'], entry['frame_end']
        inds = np.atleast_1d(results['frame_inds']) - start
        if inds.min() < 0 or inds.max() >= end - start:
            raise ValueError(
                f'frame indices {results["frame_inds"].tolist()} are not all '
                f'inside the cached chunk [{start}, {end}) of '
                f'{results.get("filename")}')
        frames = read_frames(entry['path'], entry, inds, entry['cache_dir'])
        original_h, original_w = entry['original_shape']
        new_h, new_w = frames.shape[1:3]
        results['imgs'] = list(frames)
        results['original_shape'] = (original_h, original_w)
        results['img_shape'] = (new_h, new_w)
        resize = entry['source']['resize']
        if resize is not None:
            # As Resize sets them.
            results['keep_ratio'] = resize['keep_ratio']
            scale_factor = results.get('scale_factor',
                                       np.array([1, 1], dtype=np.float32))
            results['scale_factor'] = scale_factor * np.array(
                [new_w / original_w, new_h / original_h], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
