"""Serve the video-decoding part of a pipeline from a clip cache."""
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .specs import Step, step_spec, type_name

#: Video decoders of MMAction2 that a cache can replace: init -> decode step.
VIDEO_DECODERS = {
    'DecordInit': 'DecordDecode',
    'OpenCVInit': 'OpenCVDecode',
}
#: Video decoders it cannot replace, and why.
UNSUPPORTED_DECODERS = {
    'PyAVInit': 'PyAVDecode decodes from the start of the video at every '
    'call, so a long recording cannot be read chunk by chunk; use '
    'DecordInit/DecordDecode or OpenCVInit/OpenCVDecode',
}
CACHE_STEPS = ('ClipCacheInit', 'ClipCacheDecode')


class VideoSteps(NamedTuple):
    """Positions of the video-decoding steps in a pipeline.

    ``resize`` is the position of the ``Resize`` right after the decode
    (non-lazy), the one a cache entry applies; None where there is none.
    """
    init: int
    decode: int
    resize: Optional[int]


def find_video_steps(pipeline: Sequence[Step]) -> VideoSteps:
    """Find the decoder init and decode steps and the ``Resize`` after them.

    Args:
        pipeline (Sequence[dict]): Transform configs.

    Returns:
        VideoSteps: The positions.

    Raises:
        ValueError: The pipeline decodes no video, or with PyAV, or its init
            step has no matching decode step, or it reads a clip cache
            already.
        TypeError: A decoding step is a built transform, not a config.
    """
    names = [type_name(step) for step in pipeline]
    if any(name in CACHE_STEPS for name in names):
        raise ValueError('the pipeline reads a clip cache already '
                         f'({", ".join(CACHE_STEPS)}): {names}')
    init = next((i for i, name in enumerate(names) if name in VIDEO_DECODERS),
                None)
    for name in names[:len(names) if init is None else init]:
        if name in UNSUPPORTED_DECODERS:
            raise ValueError(f'a clip cache cannot replace {name}: '
                             f'{UNSUPPORTED_DECODERS[name]}')
    if init is None:
        raise ValueError('a clip cache replaces the video decoding of a '
                         'pipeline, but this one has none of '
                         f'{sorted(VIDEO_DECODERS)}: {names}')
    decoder = VIDEO_DECODERS[names[init]]
    decode = next((i for i in range(init + 1, len(names))
                   if names[i] == decoder), None)
    if decode is None:
        raise ValueError(f'the pipeline has {names[init]} but no {decoder} '
                         f'after it: {names}')
    for i in (init, decode):
        if not isinstance(pipeline[i], dict):
            raise TypeError(f'a clip cache needs the pipeline step {names[i]} '
                            'as a config dict, not a built transform')
    resize = decode + 1
    if resize >= len(pipeline) or names[resize] != 'Resize' or not isinstance(
            pipeline[resize], dict) or pipeline[resize].get('lazy', False):
        resize = None
    return VideoSteps(init, decode, resize)


def cache_source(pipeline: Sequence[Step],
                 steps: Optional[VideoSteps] = None) -> Dict[str, Any]:
    """What the pipeline's cache entries are made with.

    Args:
        pipeline (Sequence[dict]): Transform configs.
        steps (VideoSteps, optional): Found by :func:`find_video_steps`
            if not given.

    Returns:
        dict: ``dict(decode=<decode spec>, resize=<Resize spec or None>)``.
    """
    steps = steps or find_video_steps(pipeline)
    resize = None if steps.resize is None else pipeline[steps.resize]
    return dict(
        decode=step_spec(pipeline[steps.decode]), resize=step_spec(resize))


def clip_cache_pipeline(pipeline: Sequence[Step],
                        cache_dir: str) -> Tuple[List[Step], Dict[str, Any]]:
    """The same pipeline, reading decoded, resized clips from a cache.

    The decoder init step (``DecordInit`` or ``OpenCVInit``) becomes :class:`ClipCacheInit`, its decode step :class:`ClipCacheDecode`,
    and the ``Resize`` right after the decode, which the entries have
    applied, is dropped. ``ClipCacheInit`` checks that every entry it
    serves was made with exactly these decode and resize steps.

    Args:
        pipeline (Sequence[dict]): Transform configs (not changed).
        cache_dir (str): The clip cache.

    Returns:
        tuple[list, dict]: The new pipeline, and what its entries must be
        made with (see :func:`cache_source`).
    """
    steps = find_video_steps(pipeline)
    source = cache_source(pipeline, steps)
    cached = []
    for i, step in enumerate(pipeline):
        if i == steps.init:
            step = dict(type='ClipCacheInit', cache_dir=cache_dir,
                        source=source)
        elif i == steps.decode:
            step = dict(type='ClipCacheDecode')
        elif i == steps.resize:
            continue
        cached.append(step)
    return cached, source
