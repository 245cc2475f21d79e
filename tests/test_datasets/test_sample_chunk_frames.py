import numpy as np
import pytest
from mmengine.dataset import Compose

from conftest import write_video
from qd_plugin.datasets import SampleChunkFrames


def chunk(start, end, total=300):
    return dict(frame_start=start, frame_end=end, total_frames=total,
                start_index=0, filename='x.mp4')


def test_train_samples_stay_inside_the_chunk():
    sampler = SampleChunkFrames(clip_len=16, frame_interval=1)
    starts = set()
    for seed in range(50):
        np.random.seed(seed)
        inds = sampler(chunk(100, 190))['frame_inds']
        assert len(inds) == 16
        assert inds.min() >= 100 and inds.max() < 190
        assert np.all(np.diff(inds) == 1)
        starts.add(int(inds[0]))
    assert len(starts) > 10  # random offsets


def test_test_mode_takes_the_centred_clip():
    sampler = SampleChunkFrames(clip_len=16, test_mode=True)
    results = sampler(chunk(100, 190))
    np.testing.assert_array_equal(results['frame_inds'],
                                  np.arange(137, 153))
    assert results['total_frames'] == 300  # the whole video's length


def test_short_chunk_loops_inside_the_chunk():
    sampler = SampleChunkFrames(clip_len=8, test_mode=True)
    inds = sampler(chunk(10, 15))['frame_inds']
    np.testing.assert_array_equal(inds, [10, 11, 12, 13, 14, 10, 11, 12])


def test_empty_chunk_is_an_error():
    with pytest.raises(ValueError, match=r'empty chunk \[5, 5\) of x.mp4'):
        SampleChunkFrames(clip_len=4)(chunk(5, 5))


def test_decodes_exactly_the_sampled_frames(tmp_path):
    video = tmp_path / 'rec.mp4'
    write_video(video, 60)  # frame i is a flat grey of level 4 * i
    pipeline = Compose([
        dict(type='mmaction.DecordInit'),
        dict(type='mmaction.SampleChunkFrames', clip_len=4, test_mode=True),
        dict(type='mmaction.DecordDecode')
    ])
    results = pipeline(dict(filename=str(video), frame_start=40,
                            frame_end=50, start_index=0))
    np.testing.assert_array_equal(results['frame_inds'], [43, 44, 45, 46])
    levels = [img.mean() for img in results['imgs']]
    np.testing.assert_allclose(levels, [4 * i for i in range(43, 47)], atol=3)
