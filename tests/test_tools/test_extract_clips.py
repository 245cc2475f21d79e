import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT, TINY_FILES, tiny_config
from qd_plugin.datasets import DriveActDataset, build_clip_caches
from qd_plugin.datasets.clip_cache import VideoCacheIndex, builder
from qd_plugin.datasets.clip_cache.index import atomic_write

ENTRIES = {
    TINY_FILES[0]: [(0, 20), (20, 40), (40, 60)],
    TINY_FILES[1]: [(0, 30), (10, 30), (30, 60)],
}


@pytest.fixture
def cfg(tiny_driveact, tmp_path):
    return tiny_config('configs/mbv3d_driveact.py', tiny_driveact,
                       str(tmp_path / 'w'))


def entry_times(cache_dir):
    return {(file_id, start, end): os.stat(
        VideoCacheIndex(cache_dir, file_id).entry_path(start, end)).st_mtime_ns
            for file_id, chunks in ENTRIES.items() for start, end in chunks}


def build(cfg, cache_dir, **kwargs):
    summaries = build_clip_caches(cfg, cache_dir, **kwargs)
    assert len(summaries) == 1
    return summaries[0]


def counts(summary):
    return {k: summary[k] for k in builder.OUTCOMES}


def test_build_is_incremental(cfg, tmp_path):
    cache_dir = str(tmp_path / 'cache')
    first = build(cfg, cache_dir)
    assert (first['chunks'], first['videos']) == (6, 2)
    assert counts(first) == dict(up_to_date=0, new=6, stale=0, damaged=0)
    times = entry_times(cache_dir)

    second = build(cfg, cache_dir)
    assert counts(second) == dict(up_to_date=6, new=0, stale=0, damaged=0)
    assert second['rebuilt'] == []
    assert entry_times(cache_dir) == times

    damaged = VideoCacheIndex(cache_dir, TINY_FILES[1]).entry_path(10, 30)
    with open(damaged, 'r+b') as f:
        f.seek(-5, os.SEEK_END)  # a byte of the last frame
        byte = f.read(1)
        f.seek(-5, os.SEEK_END)
        f.write(bytes([byte[0] ^ 1]))
    third = build(cfg, cache_dir)
    assert counts(third) == dict(up_to_date=5, new=0, stale=0, damaged=1)
    assert third['rebuilt'] == [
        (TINY_FILES[1], 10, 30, 'damaged',
         'frame(s) [19] of the chunk fail their checksum')
    ]
    after = entry_times(cache_dir)
    changed = [key for key in times if after[key] != times[key]]
    assert changed == [(TINY_FILES[1], 10, 30)]
    assert counts(build(cfg, cache_dir))['up_to_date'] == 6


def test_stale_and_missing_entries_are_rebuilt(cfg, tmp_path, tiny_driveact):
    cache_dir = str(tmp_path / 'cache')
    build(cfg, cache_dir)
    video = Path(tiny_driveact['video_root']) / f'{TINY_FILES[0]}.mp4'
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    os.remove(VideoCacheIndex(cache_dir, TINY_FILES[1]).entry_path(0, 30))
    summary = build(cfg, cache_dir)
    assert counts(summary) == dict(up_to_date=2, new=0, stale=3, damaged=1)
    assert {r[:4] for r in summary['rebuilt']} == {
        (TINY_FILES[0], 0, 20, 'stale'), (TINY_FILES[0], 20, 40, 'stale'),
        (TINY_FILES[0], 40, 60, 'stale'), (TINY_FILES[1], 0, 30, 'damaged')
    }
    index = VideoCacheIndex.load(cache_dir, TINY_FILES[0])
    assert index.get(0, 20)['video']['mtime_ns'] == stat.st_mtime_ns + 1


def test_other_resize_rebuilds_as_stale(cfg, tmp_path):
    cache_dir = str(tmp_path / 'cache')
    build(cfg, cache_dir, subsets=['test'])
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.pipeline[3] = dict(type='Resize', scale=(-1, 32))
    summary = build(cfg, cache_dir, subsets=['test'])
    assert counts(summary) == dict(up_to_date=0, new=0, stale=2, damaged=0)
    record = VideoCacheIndex.load(cache_dir, TINY_FILES[1]).get(30, 60)
    assert record['shape'] == [30, 32, 43, 3]


def test_interrupted_build_keeps_what_it_finished(cfg, tmp_path,
                                                  monkeypatch):
    cache_dir = str(tmp_path / 'cache')
    save_frames = builder.save_frames
    calls = []

    def interrupt_in_second_write(path, frames):
        calls.append(path)
        if len(calls) == 2:
            atomic_write(path, lambda f: (f.write(b'partial'), 1 / 0))
        save_frames(path, frames)

    monkeypatch.setattr(builder, 'save_frames', interrupt_in_second_write)
    with pytest.raises(ZeroDivisionError):
        build(cfg, cache_dir, subsets=['train'])
    folder = VideoCacheIndex(cache_dir, TINY_FILES[0]).folder
    assert sorted(os.listdir(folder)) == ['0_20.npy', 'index.json']
    # A killed run leaves its temporary file; the next run removes it.
    Path(folder, '.20_40.npy.k1ll3d.tmp').write_bytes(b'partial')
    monkeypatch.setattr(builder, 'save_frames', save_frames)
    summary = build(cfg, cache_dir, subsets=['train'])
    assert counts(summary) == dict(up_to_date=1, new=2, stale=0, damaged=0)
    assert sorted(os.listdir(folder)) == [
        '0_20.npy', '20_40.npy', '40_60.npy', 'index.json'
    ]


def test_parallel_build_equals_serial_build(cfg, tmp_path):
    serial, parallel = str(tmp_path / 'serial'), str(tmp_path / 'parallel')
    build(cfg, serial)
    assert counts(build(cfg, parallel, workers=2))['new'] == 6
    for file_id, chunks in ENTRIES.items():
        for start, end in chunks:
            paths = [
                VideoCacheIndex(d, file_id).entry_path(start, end)
                for d in (serial, parallel)
            ]
            assert np.array_equal(np.load(paths[0]), np.load(paths[1]))


def test_subsets_with_different_resize_need_their_own_cache(cfg, tmp_path):
    cfg.train_dataloader.dataset.pipeline[3] = dict(
        type='Resize', scale=(-1, 32))
    with pytest.raises(ValueError, match=r'the train and val pipelines decode '
                       r'or resize differently .*: give each its own cache'):
        build_clip_caches(cfg, str(tmp_path / 'cache'))


def test_cache_dir_comes_from_the_config(cfg, tmp_path):
    with pytest.raises(ValueError, match='test_dataloader.dataset has no '
                       'clip_cache: give --out-dir'):
        build_clip_caches(cfg, subsets=['test'])
    cfg.test_dataloader.dataset.clip_cache = str(tmp_path / 'from_cfg')
    summary = build(cfg, None, subsets=['test'])
    assert summary['cache_dir'] == str(tmp_path / 'from_cfg')
    assert summary['new'] == 2


def extract_clips_main():
    spec = importlib.util.spec_from_file_location(
        'extract_clips', REPO_ROOT / 'tools/data/driveact/extract_clips.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_cli_builds_a_cache_the_config_trains_from(tiny_driveact, tmp_path,
                                                   capsys, monkeypatch):
    cache_dir = str(tmp_path / 'cache')
    args = [
        'configs/mbv3d_driveact.py', '--out-dir', cache_dir, '--subsets',
        'val', 'test', '--cfg-options',
        f'data_root={tiny_driveact["video_root"]}',
        f'ann_root={tiny_driveact["ann_root"]}'
    ]
    result = subprocess.run(
        [sys.executable, 'tools/data/driveact/extract_clips.py', *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True)
    assert result.returncode == 0, result.stderr
    assert (f'clip cache {cache_dir} (val/test): 3 chunks of 1 videos: 0 up '
            'to date, 3 new, 0 stale, 0 damaged') in result.stdout
    record = VideoCacheIndex.load(cache_dir, TINY_FILES[1]).get(0, 30)
    assert record['shape'] == [30, 256, 341, 3]  # the config's Resize

    main = extract_clips_main()
    monkeypatch.chdir(REPO_ROOT)
    main(args)
    assert '3 up to date, 0 new' in capsys.readouterr().out

    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/mbv3d_driveact.py'))
    dataset_cfg = dict(cfg.val_dataloader.dataset.to_dict(),
                       ann_root=tiny_driveact['ann_root'],
                       data_prefix=dict(video=tiny_driveact['video_root']))
    dataset_cfg.pop('type')
    from_video = DriveActDataset(**dataset_cfg)[0]['inputs']
    from_cache = DriveActDataset(**dataset_cfg, clip_cache=cache_dir)[0]
    assert from_video.shape == (1, 3, 16, 224, 224)
    assert np.array_equal(from_video.numpy(), from_cache['inputs'].numpy())

    with pytest.raises(SystemExit, match='error: test_dataloader.dataset has '
                       'no clip_cache'):
        main(['configs/mbv3d_driveact.py', '--subsets', 'test', *args[6:]])
