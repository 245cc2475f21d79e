import re
import shutil

import pytest

from conftest import HEADER, chunk_row, split_path, write_split, write_video
from qd_plugin.datasets import (DRIVEACT_MIDLEVEL_CLASSES, CorruptVideoError,
                                DriveActDataset, MissingVideoError)


def build(data, subset='train', **kwargs):
    return DriveActDataset(
        ann_root=data['ann_root'],
        data_prefix=dict(video=data['video_root']),
        subset=subset,
        pipeline=[],
        **kwargs)


def test_class_list_is_pinned_and_sorted():
    assert len(DRIVEACT_MIDLEVEL_CLASSES) == 34
    assert list(DRIVEACT_MIDLEVEL_CLASSES) == sorted(DRIVEACT_MIDLEVEL_CLASSES)
    assert DRIVEACT_MIDLEVEL_CLASSES[0] == 'closing_bottle'
    assert DRIVEACT_MIDLEVEL_CLASSES[4] == 'drinking'
    assert DRIVEACT_MIDLEVEL_CLASSES[-1] == 'writing'


def test_parses_official_layout(tiny_driveact):
    dataset = build(tiny_driveact, 'train')
    assert len(dataset) == 3
    assert dataset.metainfo['classes'] == DRIVEACT_MIDLEVEL_CLASSES
    info = dataset.get_data_info(1)
    assert info['filename'].endswith('vp1/run1_2018-05-29-14-02-47.ids_1.mp4')
    assert info['label'] == DRIVEACT_MIDLEVEL_CLASSES.index('drinking')
    assert (info['frame_start'], info['frame_end']) == (20, 40)
    assert info['chunk_id'] == '1' and info['view'] == 'inner_mirror'
    assert [dataset.get_data_info(i)['label'] for i in range(3)] == [4, 4, 5]
    assert len(build(tiny_driveact, 'test', test_mode=True)) == 2


def test_several_views_are_concatenated(tiny_driveact):
    rows = [chunk_row('vp1/run1_2018-05-29-14-02-47.ids_1', 0, 10, 'eating')]
    write_split(
        split_path(tiny_driveact['ann_root'], 'train', 'ceiling'), rows)
    dataset = build(tiny_driveact, views=('inner_mirror', 'ceiling'))
    assert len(dataset) == 4
    assert dataset.get_data_info(3)['view'] == 'ceiling'


def test_missing_split_file(tiny_driveact):
    with pytest.raises(FileNotFoundError, match=re.escape(
            split_path(tiny_driveact['ann_root'], 'train', split=1))):
        build(tiny_driveact, split=1)


def test_missing_column(tiny_driveact):
    path = split_path(tiny_driveact['ann_root'], 'train')
    header = [c for c in HEADER if c != 'frame_end']
    write_split(path, tiny_driveact['rows']['train'], header=header)
    with pytest.raises(ValueError,
                       match=re.escape(f"{path}: missing column(s) "
                                       "['frame_end']")):
        build(tiny_driveact)


def test_unknown_activity_names_the_row(tiny_driveact):
    path = split_path(tiny_driveact['ann_root'], 'train')
    rows = list(tiny_driveact['rows']['train'])
    rows[1] = dict(rows[1], activity='juggling')
    write_split(path, rows)
    with pytest.raises(ValueError,
                       match=re.escape(f"{path}, line 3: unknown activity "
                                       "'juggling'")):
        build(tiny_driveact)


def test_unknown_view(tiny_driveact):
    with pytest.raises(ValueError, match=r"unknown Drive&Act view\(s\) "
                       r"\['rear_seat'\]"):
        build(tiny_driveact, views='rear_seat')


def test_empty_split(tiny_driveact):
    path = split_path(tiny_driveact['ann_root'], 'val')
    write_split(path, [])
    with pytest.raises(ValueError, match=re.escape(
            f'{path}: the split file holds no chunks')):
        build(tiny_driveact, 'val')


def test_missing_video_names_file_and_row(tiny_driveact):
    shutil.rmtree(f"{tiny_driveact['video_root']}/vp2")
    with pytest.raises(MissingVideoError) as error:
        build(tiny_driveact, 'test')
    message = str(error.value)
    assert 'video not found' in message
    assert 'vp2/run1_2018-05-30-10-00-00.ids_1.mp4' in message
    assert 'split_0.test.csv, line 2' in message


def test_frame_range_beyond_video(tiny_driveact):
    path = split_path(tiny_driveact['ann_root'], 'test')
    rows = list(tiny_driveact['rows']['test'])
    rows[1] = dict(rows[1], frame_end=75)
    write_split(path, rows)
    with pytest.raises(ValueError, match=re.escape(
            f'{path}, line 3: frame range [30, 75) is beyond the 60 frames')):
        build(tiny_driveact, 'test')


def test_corrupt_video_raises_or_is_skipped(tiny_driveact):
    video = (f"{tiny_driveact['video_root']}/"
             'vp1/run1_2018-05-29-14-02-47.ids_1.mp4')
    with open(video, 'r+b') as f:
        f.truncate(300)
    with pytest.raises(CorruptVideoError, match='cannot decode video .*vp1'):
        build(tiny_driveact)
    with pytest.raises(ValueError, match='no chunk of this split has a '
                       'readable video'):
        build(tiny_driveact, skip_bad_videos=True)
    write_video(tiny_driveact['video_root'] + '/vp9/rec.ids_1.mp4', 30)
    path = split_path(tiny_driveact['ann_root'], 'train')
    write_split(path, tiny_driveact['rows']['train'] +
                [chunk_row('vp9/rec.ids_1', 0, 30, 'writing')])
    dataset = build(tiny_driveact, skip_bad_videos=True)
    assert len(dataset) == 1 and dataset.num_skipped == 3
