import os
import random
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose

from conftest import TINY_FILES, tiny_config, write_video
from qd_plugin.datasets import (ClipCacheMismatchError, CorruptClipError,
                                DriveActDataset, MissingClipError,
                                StaleClipError, build_clip_caches,
                                clip_cache_pipeline)
from qd_plugin.datasets.clip_cache import VideoCacheIndex, find_video_steps
from qd_plugin.datasets.driveact_dataset import SampleLoadError

REBUILD = 'python tools/data/driveact/extract_clips.py <config> --out-dir '


def write_textured_video(path: Path, num_frames: int, size=(24, 32)) -> None:
    """An mp4v video of noise that moves, so that frames and their resized
    pixels all differ."""
    height, width = size
    texture = np.random.RandomState(0).randint(
        0, 256, (height, width + num_frames, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 30, (width, height))
    for i in range(num_frames):
        writer.write(np.ascontiguousarray(texture[:, i:i + width]))
    writer.release()


@pytest.fixture
def data(tiny_driveact):
    for file_id in TINY_FILES:
        write_textured_video(
            Path(tiny_driveact['video_root']) / f'{file_id}.mp4', 60)
    return tiny_driveact


@pytest.fixture
def cfg(data, tmp_path):
    return tiny_config('configs/mbv3d_driveact.py', data, str(tmp_path / 'w'))


@pytest.fixture
def cache_dir(cfg, tmp_path):
    cache_dir = str(tmp_path / 'clip_cache')
    build_clip_caches(cfg, cache_dir)
    return cache_dir


def dataset(cfg, subset, **kwargs):
    dataset_cfg = dict(cfg[f'{subset}_dataloader'].dataset.to_dict(),
                       serialize_data=False, **kwargs)
    dataset_cfg.pop('type')
    return DriveActDataset(**dataset_cfg)


def seeded(ds, idx, seed):
    random.seed(seed)
    np.random.seed(seed)
    return ds[idx]


def entry_file(cache_dir, file_id, start, end):
    return VideoCacheIndex(cache_dir, file_id).entry_path(start, end)


def test_test_pipeline_gives_the_same_clip_from_the_cache(cfg, cache_dir):
    from_video = dataset(cfg, 'test')
    from_cache = dataset(cfg, 'test', clip_cache=cache_dir)
    names = [type(t).__name__ for t in from_cache.pipeline.transforms]
    assert names == ['ClipCacheInit', 'SampleChunkFrames', 'ClipCacheDecode',
                     'CenterCrop', 'FormatShape', 'PackActionInputs']
    for idx in range(len(from_video)):
        a, b = from_video[idx], from_cache[idx]
        assert a['inputs'].shape == (1, 3, 4, 64, 64)
        assert a['inputs'].float().std() > 20  # textured, not flat
        assert np.array_equal(a['inputs'].numpy(), b['inputs'].numpy())
        assert a['data_samples'].img_shape == b['data_samples'].img_shape
    # Other chunks hold other frames.
    assert not np.array_equal(from_cache[0]['inputs'].numpy(),
                              from_cache[1]['inputs'].numpy())


def test_train_pipeline_gives_the_same_random_clips(cfg, cache_dir):
    from_video = dataset(cfg, 'train')
    from_cache = dataset(cfg, 'train', clip_cache=cache_dir)
    clips = []
    for seed in (0, 1, 2):
        for idx in range(len(from_video)):
            a = seeded(from_video, idx, seed)['inputs'].numpy()
            b = seeded(from_cache, idx, seed)['inputs'].numpy()
            assert np.array_equal(a, b)
            clips.append(a)
    assert not np.array_equal(clips[0], clips[3])  # seeds differ


def test_cache_steps_give_the_results_of_decode_and_resize(cfg, cache_dir):
    video_pipeline = list(cfg.test_dataloader.dataset.pipeline)[:4]
    cache_pipeline, _ = clip_cache_pipeline(video_pipeline, cache_dir)
    assert len(cache_pipeline) == 3  # the Resize is in the entries
    info = dataset(cfg, 'test').get_data_info(1)
    a = Compose(video_pipeline)(dict(info))
    b = Compose(cache_pipeline)(dict(info))
    for key in ('img_shape', 'original_shape', 'keep_ratio', 'total_frames',
                'avg_fps'):
        assert a[key] == b[key], key
    assert a['original_shape'] == (24, 32) and a['img_shape'] == (64, 85)
    assert a['scale_factor'].dtype == b['scale_factor'].dtype
    assert np.array_equal(a['scale_factor'], b['scale_factor'])
    assert np.array_equal(a['frame_inds'], b['frame_inds'])
    assert np.array_equal(np.stack(a['imgs']), np.stack(b['imgs']))


def test_transforms_work_directly_in_a_config_pipeline(cfg, cache_dir):
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    steps = find_video_steps(pipeline)
    pipeline[steps.init] = dict(type='ClipCacheInit', cache_dir=cache_dir)
    pipeline[steps.decode] = dict(type='ClipCacheDecode')
    del pipeline[steps.resize]
    direct = dataset(cfg, 'test', pipeline=pipeline)
    from_video = dataset(cfg, 'test')
    assert np.array_equal(direct[1]['inputs'].numpy(),
                          from_video[1]['inputs'].numpy())


def test_opencv_decoding_is_cached_alike(cfg, tmp_path):
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[name].dataset.pipeline
        pipeline[0] = dict(type='OpenCVInit')
        pipeline[2] = dict(type='OpenCVDecode')
    cache_dir = str(tmp_path / 'opencv_cache')
    build_clip_caches(cfg, cache_dir, subsets=['test'])
    a = dataset(cfg, 'test')[1]['inputs'].numpy()
    assert np.array_equal(
        a, dataset(cfg, 'test', clip_cache=cache_dir)[1]['inputs'].numpy())


def test_cache_without_resize_after_decode(cfg, tmp_path):
    pipeline = cfg.test_dataloader.dataset.pipeline
    del pipeline[3]  # Resize: CenterCrop 64 of the 24x32 frames pads
    pipeline[3] = dict(type='CenterCrop', crop_size=16)
    cache_dir = str(tmp_path / 'full_size')
    build_clip_caches(cfg, cache_dir, subsets=['test'])
    record = VideoCacheIndex.load(cache_dir, TINY_FILES[1]).get(30, 60)
    assert record['source']['resize'] is None
    assert record['shape'] == [30, 24, 32, 3]
    a = dataset(cfg, 'test')[1]['inputs'].numpy()
    assert a.shape == (1, 3, 4, 16, 16)
    assert np.array_equal(
        a, dataset(cfg, 'test', clip_cache=cache_dir)[1]['inputs'].numpy())


def test_index_records_what_each_entry_was_made_from(cfg, cache_dir, data):
    video = f"{data['video_root']}/{TINY_FILES[0]}.mp4"
    index = VideoCacheIndex.load(cache_dir, TINY_FILES[0])
    record = index.get(20, 40)
    stat = os.stat(video)
    assert record['video']['path'] == os.path.abspath(video)
    assert record['video']['size'] == stat.st_size
    assert record['video']['mtime_ns'] == stat.st_mtime_ns
    assert record['video']['total_frames'] == 60
    assert (record['frame_start'], record['frame_end']) == (20, 40)
    assert record['source'] == dict(
        decode=dict(type='DecordDecode', mode='accurate'),
        resize=dict(type='Resize', scale=[-1, 64], keep_ratio=True,
                    interpolation='bilinear', lazy=False))
    frames = np.load(index.entry_path(20, 40))
    assert record['shape'] == list(frames.shape) == [20, 64, 85, 3]
    import zlib
    assert record['crc32'] == [zlib.crc32(f.tobytes()) for f in frames]
    with open(index.path) as f:
        assert '"version":1' in f.read()


@pytest.mark.parametrize('change', ['rewrite', 'touch'])
def test_stale_entry_is_detected_at_build(cfg, cache_dir, data, change):
    video = Path(data['video_root']) / f'{TINY_FILES[1]}.mp4'
    if change == 'rewrite':
        write_video(video, 60)  # other content, other size
    else:
        stat = video.stat()
        os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(StaleClipError) as error:
        dataset(cfg, 'test', clip_cache=cache_dir)
    message = str(error.value)
    assert f'clip cache {cache_dir} is stale for 2 chunks of 1 video(s)' in (
        message)
    assert f'{video} frames [10, 30)' in message
    assert 'split_0.test.csv, line 2' in message
    assert REBUILD + cache_dir in message
    dataset(cfg, 'train', clip_cache=cache_dir)  # the other video is fine


def test_stale_entry_is_detected_at_load(cfg, cache_dir, data):
    from_cache = dataset(cfg, 'test', clip_cache=cache_dir)
    video = Path(data['video_root']) / f'{TINY_FILES[1]}.mp4'
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))
    with pytest.raises(SampleLoadError) as error:
        from_cache[0]
    assert isinstance(error.value.__cause__, StaleClipError)
    assert re.search(r'10_30.npy was made from .* modified .* but the video '
                     r'now has', str(error.value))


def test_truncated_entry_is_detected_at_load(cfg, cache_dir):
    from_cache = dataset(cfg, 'test', clip_cache=cache_dir)
    path = entry_file(cache_dir, TINY_FILES[1], 30, 60)
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) - 100)
    from_cache[0]  # another entry
    with pytest.raises(SampleLoadError) as error:
        from_cache[1]
    assert isinstance(error.value.__cause__, CorruptClipError)
    message = str(error.value)
    assert f'clip cache entry {path} is damaged: cannot be read' in message
    assert 'frames [30, 60)' in message and 'test.csv, line 3' in message
    assert REBUILD + cache_dir in message


def test_flipped_byte_is_detected_at_load(cfg, cache_dir):
    from_cache = dataset(cfg, 'test', clip_cache=cache_dir)
    frame_inds = from_cache.pipeline.transforms[1](
        from_cache.get_data_info(1))['frame_inds']
    local = int(frame_inds[2]) - 30
    path = entry_file(cache_dir, TINY_FILES[1], 30, 60)
    frame_bytes = 64 * 85 * 3
    offset = os.path.getsize(path) - (30 - local) * frame_bytes + 1234
    with open(path, 'r+b') as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x10]))
    with pytest.raises(SampleLoadError) as error:
        from_cache[1]
    assert isinstance(error.value.__cause__, CorruptClipError)
    assert (f'clip cache entry {path} is damaged: frame {local} of the '
            'chunk fails its checksum') in str(error.value)


def test_entry_of_other_shape_is_detected_at_load(cfg, cache_dir):
    from_cache = dataset(cfg, 'test', clip_cache=cache_dir)
    path = entry_file(cache_dir, TINY_FILES[1], 30, 60)
    np.save(path, np.load(path)[:-1])
    with pytest.raises(SampleLoadError, match=re.escape(
            f'{path} is damaged: holds uint8 [29, 64, 85, 3], its index says '
            'uint8 [30, 64, 85, 3]')):
        from_cache[1]


def test_missing_entry_is_named(cfg, cache_dir, data):
    os.remove(entry_file(cache_dir, TINY_FILES[0], 20, 40))
    with pytest.raises(MissingClipError) as error:
        dataset(cfg, 'train', clip_cache=cache_dir)
    message = str(error.value)
    video = f"{data['video_root']}/{TINY_FILES[0]}.mp4"
    assert f'clip cache {cache_dir} has no entry for 1 of the 3 chunks' in (
        message)
    assert f'{video} frames [20, 40) (' in message
    assert 'split_0.train.csv, line 3' in message
    assert REBUILD + cache_dir in message


def test_missing_cache_and_unbuilt_subset_are_named(cfg, tmp_path):
    absent = str(tmp_path / 'nothing_here')
    with pytest.raises(MissingClipError, match=re.escape(
            f'clip cache {absent} does not exist; build it with: {REBUILD}'
            f'{absent}')):
        dataset(cfg, 'val', clip_cache=absent)
    cache_dir = str(tmp_path / 'test_only')
    build_clip_caches(cfg, cache_dir, subsets=['test'])
    with pytest.raises(MissingClipError, match=r'no entry for 3 of the 3 '
                       r'chunks, e\.g\. .*ids_1\.mp4 frames \[0, 20\)'):
        dataset(cfg, 'train', clip_cache=cache_dir)


def test_resize_mismatch_is_named(cfg, cache_dir):
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    pipeline[3] = dict(type='Resize', scale=(-1, 32))
    with pytest.raises(ClipCacheMismatchError) as error:
        dataset(cfg, 'test', clip_cache=cache_dir, pipeline=pipeline)
    message = str(error.value)
    assert f'clip cache {cache_dir} does not fit the pipeline' in message
    assert ("resized with Resize(scale=[-1, 64], keep_ratio=True, "
            "interpolation='bilinear', lazy=False), but the pipeline's first "
            "Resize after the decode is Resize(scale=[-1, 32], "
            "keep_ratio=True, interpolation='bilinear', lazy=False)") in (
                message)
    assert REBUILD + cache_dir in message


def test_decoder_mismatch_is_named(cfg, cache_dir):
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    pipeline[0] = dict(type='OpenCVInit')
    pipeline[2] = dict(type='OpenCVDecode')
    with pytest.raises(ClipCacheMismatchError, match=re.escape(
            "decoded with DecordDecode(mode='accurate'), but the pipeline "
            'decodes with OpenCVDecode()')):
        dataset(cfg, 'test', clip_cache=cache_dir, pipeline=pipeline)


def test_damaged_index_is_named(cfg, cache_dir):
    index = VideoCacheIndex(cache_dir, TINY_FILES[1]).path
    with open(index, 'r+b') as f:
        f.truncate(50)
    with pytest.raises(CorruptClipError, match=re.escape(
            f'clip cache index {index} is damaged')):
        dataset(cfg, 'test', clip_cache=cache_dir)


def test_rewriting_keeps_other_steps_and_folds_only_the_next_resize():
    pipeline = [
        dict(type='mmaction.DecordInit', io_backend='disk'),
        dict(type='SampleChunkFrames', clip_len=4),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 64)),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW'),
    ]
    cached, source = clip_cache_pipeline(pipeline, 'cache')
    assert [step['type'] for step in cached] == [
        'ClipCacheInit', 'SampleChunkFrames', 'ClipCacheDecode', 'Resize',
        'FormatShape']
    assert cached[0] == dict(type='ClipCacheInit', cache_dir='cache',
                             source=source)
    assert cached[3]['scale'] == (32, 32)
    assert source['resize']['scale'] == [-1, 64]
    assert pipeline[0]['type'] == 'mmaction.DecordInit'  # input unchanged
    lazy = [pipeline[0], pipeline[2], dict(type='Resize', scale=(-1, 64),
                                           lazy=True)]
    cached, source = clip_cache_pipeline(lazy, 'cache')
    assert source['resize'] is None and cached[-1]['lazy'] is True


@pytest.mark.parametrize('pipeline, message', [
    ([dict(type='RawFrameDecode')], 'has none of'),
    ([dict(type='PyAVInit'), dict(type='PyAVDecode')],
     'cannot replace PyAVInit: PyAVDecode decodes from the start'),
    ([dict(type='DecordInit'), dict(type='OpenCVDecode')],
     'has DecordInit but no DecordDecode after it'),
    ([dict(type='ClipCacheInit', cache_dir='c'), dict(type='DecordInit'),
      dict(type='DecordDecode')], 'reads a clip cache already'),
])
def test_pipelines_a_cache_cannot_serve(pipeline, message):
    with pytest.raises(ValueError, match=message):
        clip_cache_pipeline(pipeline, 'cache')
