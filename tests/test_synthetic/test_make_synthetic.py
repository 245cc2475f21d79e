"""Tests of the synthetic Drive&Act generator and its command line."""
import csv
import importlib.util
import os.path as osp
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import cv2
import decord
import numpy as np
import pytest

from qd_plugin.datasets import (DRIVEACT_MIDLEVEL_CLASSES, DRIVEACT_VIEWS,
                                DriveActDataset)
from qd_plugin.datasets.driveact_layout import SUBSETS
from qd_plugin.synthetic import (CLASS_ORDER, MARKER_FILE,
                                 make_synthetic_driveact)

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADER_LINE = ('participant_id,file_id,annotation_id,frame_start,frame_end,'
               'activity,chunk_id')
VIEWS = ('inner_mirror', 'a_column_driver')
TINY = dict(
    num_classes=4,
    num_participants=4,
    recordings_per_participant=2,
    segments_per_recording=4,
    frame_size=(32, 40),
    chunk_len=24,
    views=VIEWS,
    seed=0)


def generate(out_dir: Path, **overrides) -> dict:
    return make_synthetic_driveact(str(out_dir), **dict(TINY, **overrides))


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory) -> dict:
    return generate(tmp_path_factory.mktemp('synthetic') / 'driveact')


def read_rows(path: str) -> List[Dict[str, str]]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def split_rows(summary: dict, view: str = VIEWS[0],
               split: int = 0) -> Dict[str, List[Dict[str, str]]]:
    files = summary['ann_files'][view][split]
    return {subset: read_rows(files[subset]) for subset in SUBSETS}


def all_rows(summary: dict, view: str = VIEWS[0]) -> List[Dict[str, str]]:
    """Every chunk once: the subsets of one split cover all participants."""
    return [row for rows in split_rows(summary, view).values() for row in rows]


def decode(path: str) -> np.ndarray:
    reader = decord.VideoReader(path, num_threads=1)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def test_layout_and_exact_header(synthetic):
    for view in VIEWS:
        for split in range(3):
            for subset in SUBSETS:
                path = synthetic['ann_files'][view][split][subset]
                assert path == osp.join(
                    synthetic['ann_root'], view,
                    f'midlevel.chunks_90.split_{split}.{subset}.csv')
                with open(path) as f:
                    assert f.readline().rstrip('\n') == HEADER_LINE
        for row in all_rows(synthetic, view):
            assert row['file_id'].endswith('.' + DRIVEACT_VIEWS[view])
            assert row['file_id'].startswith(f'vp{row["participant_id"]}/run')
            assert osp.isfile(
                osp.join(synthetic['video_root'], row['file_id'] + '.mp4'))
    assert len(synthetic['videos']) == 4 * 2 * len(VIEWS)


def test_chunks_lie_inside_their_videos(synthetic):
    rows_of_file = defaultdict(list)
    for view in VIEWS:
        for row in all_rows(synthetic, view):
            rows_of_file[row['file_id']].append(row)
    for file_id, rows in rows_of_file.items():
        path = osp.join(synthetic['video_root'], file_id + '.mp4')
        num_frames = len(decord.VideoReader(path, num_threads=1))
        for row in rows:
            start, end = int(row['frame_start']), int(row['frame_end'])
            assert 0 <= start < end <= num_frames
            assert end - start <= TINY['chunk_len']


def test_chunks_are_contiguous_per_annotation(synthetic):
    chunks = defaultdict(list)
    for row in all_rows(synthetic):
        chunks[int(row['annotation_id'])].append(row)
    assert len(chunks) == synthetic['num_segments']
    segments_of_file = defaultdict(list)
    for rows in chunks.values():
        rows.sort(key=lambda row: int(row['chunk_id']))
        assert [int(row['chunk_id']) for row in rows] == list(range(len(rows)))
        assert len({(r['file_id'], r['activity'], r['participant_id'])
                    for r in rows}) == 1
        for previous, current in zip(rows, rows[1:]):
            assert previous['frame_end'] == current['frame_start']
        lengths = [int(r['frame_end']) - int(r['frame_start']) for r in rows]
        assert all(n == TINY['chunk_len'] for n in lengths[:-1])
        segments_of_file[rows[0]['file_id']].append(
            (int(rows[0]['frame_start']), int(rows[-1]['frame_end'])))
    for segments in segments_of_file.values():
        segments.sort()
        # Unannotated frames come first and lie between segments.
        assert segments[0][0] > 0
        assert all(a[1] < b[0] for a, b in zip(segments, segments[1:]))


def test_participants_are_disjoint_and_rotate(synthetic):
    all_participants = set(range(1, TINY['num_participants'] + 1))
    test_sets = []
    for split in range(3):
        members = synthetic['participants'][split]
        subsets = [set(members[subset]) for subset in SUBSETS]
        assert set.union(*subsets) == all_participants
        assert sum(map(len, subsets)) == len(all_participants)
        rows = split_rows(synthetic, split=split)
        for subset in SUBSETS:
            assert {int(r['participant_id'])
                    for r in rows[subset]} == set(members[subset])
        test_sets.append(set(members['test']))
    # No participant is tested in two splits.
    assert sum(map(len, test_sets)) == len(set.union(*test_sets))


def test_every_class_in_every_subset(synthetic):
    classes = set(CLASS_ORDER[:TINY['num_classes']])
    assert set(synthetic['classes']) == classes
    for view in VIEWS:
        for split in range(3):
            for subset, rows in split_rows(synthetic, view, split).items():
                assert {row['activity'] for row in rows} == classes
                assert len(rows) == synthetic['num_chunks'][split][subset]


def test_views_share_annotations_not_pixels(synthetic):
    first, second = (all_rows(synthetic, view) for view in VIEWS)
    suffixes = [DRIVEACT_VIEWS[view] for view in VIEWS]
    assert [dict(r, file_id=r['file_id'].replace(*suffixes))
            for r in first] == second
    file_id = first[0]['file_id']
    frames = [
        decode(osp.join(synthetic['video_root'],
                        file_id.replace(suffixes[0], suffix) + '.mp4'))
        for suffix in suffixes
    ]
    assert frames[0].shape == frames[1].shape
    assert np.abs(frames[0].astype(int) - frames[1]).mean() > 5


def test_driveact_dataset_loads_it(synthetic):
    dataset = DriveActDataset(
        ann_root=synthetic['ann_root'],
        data_prefix=dict(video=synthetic['video_root']),
        split=1,
        subset='val',
        views=VIEWS,
        pipeline=[])
    assert len(dataset) == 2 * synthetic['num_chunks'][1]['val']
    labels = {dataset.get_data_info(i)['label'] for i in range(len(dataset))}
    assert labels == {
        DRIVEACT_MIDLEVEL_CLASSES.index(name)
        for name in CLASS_ORDER[:TINY['num_classes']]
    }


def test_same_seed_same_data_other_seed_other_data(synthetic, tmp_path):
    again = generate(tmp_path / 'again', workers=2)
    other = generate(tmp_path / 'other', seed=1, views=VIEWS[:1])
    for split in range(3):
        for subset in SUBSETS:
            paths = [
                summary['ann_files'][VIEWS[0]][split][subset]
                for summary in (synthetic, again, other)
            ]
            texts = [Path(path).read_text() for path in paths]
            assert texts[0] == texts[1]
            assert texts[0] != texts[2]
    for path, path_again in zip(synthetic['videos'], again['videos']):
        assert osp.relpath(path, synthetic['video_root']) == osp.relpath(
            path_again, again['video_root'])
        assert np.array_equal(decode(path), decode(path_again))
    assert not np.array_equal(
        decode(synthetic['videos'][0])[:10],
        decode(other['videos'][0])[:10])


def test_refuses_to_overwrite(synthetic, tmp_path):
    csv_path = synthetic['ann_files'][VIEWS[0]][0]['train']
    before = Path(csv_path).read_bytes()
    with pytest.raises(FileExistsError, match='overwrite'):
        generate(Path(synthetic['out_dir']), seed=5)
    assert Path(csv_path).read_bytes() == before

    out_dir = tmp_path / 'data'
    generate(out_dir, views=VIEWS[:1], num_participants=3)
    replaced = generate(
        out_dir, views=VIEWS[:1], num_participants=3, seed=2, overwrite=True)
    assert replaced['num_chunks'] and (out_dir / MARKER_FILE).is_file()

    foreign = tmp_path / 'real'
    (foreign / 'videos').mkdir(parents=True)
    (foreign / 'videos' / 'keep.mp4').write_bytes(b'licensed')
    with pytest.raises(FileExistsError, match='not written by this generator'):
        generate(foreign, overwrite=True)
    assert (foreign / 'videos' / 'keep.mp4').read_bytes() == b'licensed'


def test_rejects_too_few_segments_for_all_classes(tmp_path):
    with pytest.raises(ValueError, match='cannot hold'):
        generate(tmp_path, recordings_per_participant=1,
                 segments_per_recording=3)
    assert not (tmp_path / MARKER_FILE).exists()


@pytest.mark.parametrize('classes, message', [
    (['drinking', 'flying'], r"unknown activities \['flying'\]"),
    (['drinking', 'drinking'], 'must be distinct'),
])
def test_rejects_bad_class_names(tmp_path, classes, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, classes=classes)
    assert not (tmp_path / MARKER_FILE).exists()


def test_classes_by_name(tmp_path):
    names = ['sitting_still', 'writing']
    summary = generate(tmp_path, classes=names, num_participants=3,
                       views=VIEWS[:1])
    assert summary['classes'] == tuple(names)
    assert {row['activity'] for row in all_rows(summary)} == set(names)


def load_cli():
    path = REPO_ROOT / 'tools' / 'data' / 'driveact' / 'make_synthetic.py'
    spec = importlib.util.spec_from_file_location('make_synthetic', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_line(tmp_path, capsys):
    cli = load_cli()
    out_dir = str(tmp_path / 'driveact')
    argv = [
        '--out-dir', out_dir, '--num-classes', '3', '--num-participants', '3',
        '--segments-per-recording', '2', '--height', '32', '--width', '40',
        '--chunk-len', '16', '--views', 'ceiling'
    ]
    cli.main(argv)
    printed = capsys.readouterr().out
    assert 'split 0: train' in printed and 'test' in printed
    assert osp.isfile(
        osp.join(out_dir, 'activities_3s', 'ceiling',
                 'midlevel.chunks_90.split_2.val.csv'))
    with pytest.raises(SystemExit) as refusal:
        cli.main(argv)
    # The command line's advice, not the Python argument's.
    assert str(refusal.value) == (
        f'error: {out_dir} already holds data (videos, activities_3s, '
        f'{MARKER_FILE}); pass --overwrite to replace it')
    cli.main(argv + ['--overwrite', '--seed', '3'])


def flow_histogram(clip: np.ndarray, grid: int = 2, bins: int = 8,
                   min_flow: float = 0.2) -> np.ndarray:
    """Histogram of optical flow directions per image quadrant.

    Slow and fast flow (below and above the clip's median) are counted apart,
    so that a motion and its time reversal differ.

    Args:
        clip (np.ndarray): ``(T, H, W, 3)`` frames of one chunk.
        grid (int): Cells per image side. Defaults to 2.
        bins (int): Direction bins. Defaults to 8.
        min_flow (float): Flow in pixels below which a pixel is still.
            Defaults to 0.2.

    Returns:
        np.ndarray: ``grid * grid * 2 * bins`` flow magnitudes, summing to 1.
    """
    grey = clip.mean(axis=3).astype(np.uint8)
    flow = np.stack([
        cv2.calcOpticalFlowFarneback(previous, current, None, 0.5, 1, 5, 2, 5,
                                     1.1, 0)
        for previous, current in zip(grey[:-1], grey[1:])
    ])
    magnitude = np.hypot(flow[..., 0], flow[..., 1])
    angle = np.arctan2(flow[..., 1], flow[..., 0]) % (2 * np.pi)
    moving = magnitude > min_flow
    fast = magnitude > np.median(magnitude[moving]) if moving.any() else moving
    direction = (angle / (2 * np.pi) * bins).astype(int) % bins
    height, width = grey.shape[1:]
    cell = (np.arange(height)[:, None] * grid // height * grid +
            np.arange(width)[None] * grid // width)
    index = (cell[None] * 2 + fast) * bins + direction
    histogram = np.bincount(
        index[moving],
        weights=magnitude[moving],
        minlength=grid * grid * 2 * bins)
    return histogram / (histogram.sum() + 1e-6)


def middle_frame_pixels(clip: np.ndarray, scene: np.ndarray) -> np.ndarray:
    """The middle frame less the recording's mean frame, which holds the
    participant's appearance and the car."""
    frame = clip[len(clip) // 2].astype(np.float32) - scene
    return cv2.resize(frame, (15, 12), interpolation=cv2.INTER_AREA).ravel()


def nearest_centroid_accuracy(train_x: np.ndarray, train_y: np.ndarray,
                              test_x: np.ndarray, test_y: np.ndarray) -> float:
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    labels = np.unique(train_y)
    centroids = np.stack([train_x[train_y == c].mean(axis=0) for c in labels])
    distances = ((test_x[:, None] - centroids[None])**2).sum(axis=2)
    return float(np.mean(labels[distances.argmin(axis=1)] == test_y))


def cue_accuracies(out_dir: Path, classes: List[str]) -> Dict[str, float]:
    """Nearest-centroid accuracy on held-out participants (3 splits) of a
    one-frame feature and of a motion feature."""
    summary = generate(
        out_dir, classes=classes, num_participants=6,
        segments_per_recording=6, frame_size=(48, 60), chunk_len=32,
        views=VIEWS[:1])
    videos, scenes, features = {}, {}, {}
    for row in all_rows(summary):
        file_id = row['file_id']
        if file_id not in videos:
            videos[file_id] = decode(
                osp.join(summary['video_root'], file_id + '.mp4'))
            scenes[file_id] = videos[file_id].mean(axis=0)
        clip = videos[file_id][int(row['frame_start']):int(row['frame_end'])]
        features[row['annotation_id'], row['chunk_id']] = dict(
            motion=flow_histogram(clip),
            frame=middle_frame_pixels(clip, scenes[file_id]))
    accuracy = defaultdict(list)
    for split in range(3):
        rows = split_rows(summary, split=split)
        for kind in ('motion', 'frame'):
            x, y = {}, {}
            for subset in ('train', 'test'):
                x[subset] = np.stack([
                    features[r['annotation_id'], r['chunk_id']][kind]
                    for r in rows[subset]
                ])
                y[subset] = np.array(
                    [classes.index(r['activity']) for r in rows[subset]])
            accuracy[kind].append(
                nearest_centroid_accuracy(x['train'], y['train'], x['test'],
                                          y['test']))
    return {kind: float(np.mean(values)) for kind, values in accuracy.items()}


def test_place_and_prop_show_in_one_frame(tmp_path):
    accuracy = cue_accuracies(tmp_path,
                              ['talking_on_phone', 'interacting_with_phone'])
    print(accuracy)
    assert accuracy['frame'] >= 0.75


def test_time_reversed_pair_differs_in_motion_only(tmp_path):
    accuracy = cue_accuracies(
        tmp_path, ['fastening_seat_belt', 'unfastening_seat_belt'])
    print(accuracy)
    assert accuracy['frame'] <= 0.65
    assert accuracy['motion'] >= 0.75
