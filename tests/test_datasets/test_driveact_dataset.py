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


# --- rows as spreadsheets and other tools write them ------------------------
def train_csv(data):
    return split_path(data['ann_root'], 'train')


def csv_text(data) -> str:
    with open(train_csv(data), encoding='utf-8') as f:
        return f.read()


def test_byte_order_mark_is_accepted(tiny_driveact):
    path = train_csv(tiny_driveact)
    text = csv_text(tiny_driveact)
    with open(path, 'wb') as f:
        f.write(b'\xef\xbb\xbf' + text.encode('utf-8'))
    dataset = build(tiny_driveact)
    assert len(dataset) == 3
    assert dataset.get_data_info(0)['participant_id'] == '1'


def test_duplicate_rows_name_both_lines(tiny_driveact):
    rows = tiny_driveact['rows']['train']
    write_split(train_csv(tiny_driveact), rows + [rows[1]])
    with pytest.raises(ValueError) as error:
        build(tiny_driveact)
    assert str(error.value) == (
        f'{train_csv(tiny_driveact)}, line 5: duplicate of line 3 (same '
        "file_id, annotation_id, chunk_id 'vp1/run1_2018-05-29-14-02-47.ids_1'"
        ", '0', '1')")


@pytest.mark.parametrize('file_id', [
    '/etc/vp1/run1.ids_1', '../outside/run1.ids_1', 'vp1/../../run1.ids_1',
    'vp1\\..\\..\\run1.ids_1', 'C:/videos/run1.ids_1'
])
def test_file_id_outside_the_video_root_names_the_row(tiny_driveact,
                                                      file_id):
    rows = list(tiny_driveact['rows']['train'])
    rows.insert(1, dict(rows[0], file_id=file_id))
    write_split(train_csv(tiny_driveact), rows)
    with pytest.raises(ValueError) as error:
        build(tiny_driveact, check_videos=False)
    assert str(error.value) == (
        f'{train_csv(tiny_driveact)}, line 3: file_id {file_id!r} must be a '
        'relative path inside the video root (data_prefix video): no '
        'absolute path, no ".."')


def test_bytes_that_are_not_utf8_name_the_file_and_line(tiny_driveact):
    lines = csv_text(tiny_driveact).splitlines(keepends=True)
    lines[2] = lines[2].replace('drinking', 'drink\xe9')
    with open(train_csv(tiny_driveact), 'wb') as f:
        f.write(''.join(lines).encode('latin-1'))
    with pytest.raises(ValueError) as error:
        build(tiny_driveact)
    column = lines[2].index('\xe9') + 1
    assert str(error.value) == (
        f'{train_csv(tiny_driveact)}, line 3: byte 0xe9 at column {column} '
        'is not UTF-8 (a latin-1 or Windows export?); save the file as UTF-8')


@pytest.mark.parametrize('fields,count', [(5, 5), (6, 6), (9, 9)])
def test_rows_of_another_field_count_name_the_line(tiny_driveact, fields,
                                                   count):
    lines = csv_text(tiny_driveact).splitlines()
    values = lines[3].split(',')
    values = (values + ['x', 'y'])[:fields]
    lines[3] = ','.join(values)
    with open(train_csv(tiny_driveact), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError) as error:
        build(tiny_driveact)
    assert str(error.value) == (
        f'{train_csv(tiny_driveact)}, line 4: {count} field(s), the header '
        f'has 7 ({", ".join(HEADER)})')


def test_empty_trailing_fields_are_accepted(tiny_driveact):
    lines = csv_text(tiny_driveact).splitlines()
    lines[1] += ','
    with open(train_csv(tiny_driveact), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    assert len(build(tiny_driveact)) == 3
