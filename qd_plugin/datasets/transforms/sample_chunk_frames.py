from mmaction.datasets.transforms import SampleFrames
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SampleChunkFrames(SampleFrames):
    """Sample clip frames inside one chunk of a long recording.

    A Drive&Act sample is the chunk ``[frame_start, frame_end)`` of a long
    video. This applies :class:`SampleFrames` to the chunk instead of the
    whole video: random offsets in training, the centred clip in testing,
    looping inside the chunk when it is shorter than the clip. Only the
    sampled indices go to the decoder, so only those frames are read.

    Required keys are ``frame_start`` and ``frame_end``, and the keys of
    :class:`SampleFrames`; added keys are ``frame_inds`` (indices into the
    whole video), ``clip_len``, ``frame_interval`` and ``num_clips``. It goes
    after ``DecordInit`` and before ``DecordDecode``; ``total_frames`` keeps
    the length of the whole video.

    Args:
        clip_len (int): Frames of each sampled clip.
        frame_interval (int): Temporal interval of adjacent sampled frames.
            Defaults to 1.
        num_clips (int): Number of clips to sample. Defaults to 1.
        test_mode (bool): Sample the centred clip(s) deterministically.
            Defaults to False.
        **kwargs: Other arguments of :class:`SampleFrames`.
    """

    def transform(self, results: dict) -> dict:
        """Sample ``frame_inds`` inside the chunk.

        Args:
            results (dict): The result dict of the pipeline.

        Returns:
            dict: ``results`` with the sampled frame indices.
        """
        frame_start, frame_end = results['frame_start'], results['frame_end']
        if frame_end <= frame_start:
            raise ValueError(f'empty chunk [{frame_start}, {frame_end}) of '
                             f'{results.get("filename")}')
        video_frames = results.get('total_frames')
        chunk = dict(
            results,
            total_frames=frame_end - frame_start,
            start_index=results.get('start_index', 0) + frame_start)
        sampled = super().transform(chunk)
        results.update(
            frame_inds=sampled['frame_inds'],
            clip_len=sampled['clip_len'],
            frame_interval=sampled['frame_interval'],
            num_clips=sampled['num_clips'])
        if video_frames is not None:
            results['total_frames'] = video_frames
        return results
