"""Sliding windows over a stream: the frames and inputs of the test pipeline
for the same range, the number of windows, several views in one batch."""
import copy
import time

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS

from qd_plugin.apis import ArraySource, FrameSource, load_recognizer
from stream_fixtures import (CLIP_LEN, SIZE, textured_driveact,
                             tiny_model_config, write_tiny_checkpoint)

NUM_FRAMES = 40


def set_sampling(cfg, frame_interval, num_clips=1):
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'SampleChunkFrames':
            step['frame_interval'] = frame_interval
            step['num_clips'] = num_clips
    cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline


@pytest.fixture(scope='module')
def tiny_float(tmp_path_factory):
    """A tiny float model and its checkpoint (independent of the data)."""
    path = tmp_path_factory.mktemp('float')
    cfg = tiny_model_config(dict(ann_root='unused', video_root='unused'),
                            path / 'work')
    return cfg, str(write_tiny_checkpoint(cfg, path / 'tiny.pth'))


@pytest.fixture(scope='module')
def recognizer(tiny_float):
    cfg, checkpoint = tiny_float
    return load_recognizer(checkpoint, cfg)


@pytest.mark.parametrize('frame_interval,num_clips,window_length',
                         [(1, 1, None), (2, 1, None), (1, 1, 13),
                          (1, 2, None)])
@pytest.mark.parametrize('per_frame', [True, False])
def test_window_inputs_equal_the_test_pipeline(tiny_float, tmp_path,
                                               frame_interval, num_clips,
                                               window_length, per_frame):
    """Each window's frames and model input are those the test pipeline
    and the data preprocessor give for a chunk of the same frame range of
    the same video: with the frames normalised once each as they arrive
    (the default), and with each window packed by the pipeline's steps."""
    cfg, checkpoint = tiny_float
    cfg = copy.deepcopy(cfg)
    set_sampling(cfg, frame_interval, num_clips)
    length = window_length or CLIP_LEN * frame_interval * num_clips
    hop = 3
    ranges = [(s, s + length)
              for s in range(0, NUM_FRAMES - length + 1, hop)]
    data = textured_driveact(tmp_path, NUM_FRAMES, ranges)
    cfg.test_dataloader.dataset.ann_root = data['ann_root']
    cfg.test_dataloader.dataset.data_prefix = dict(video=data['video_root'])
    recognizer = load_recognizer(checkpoint, cfg,
                                 window_length=window_length)
    assert recognizer.window_length == length
    assert recognizer.frame_normalizer is not None
    if not per_frame:
        recognizer.frame_normalizer = None
    packed, inputs = [], []
    pack, predict = recognizer.pipeline.pack, recognizer.predict

    def recording_pack(frame_of, start, total_frames=None, end=None):
        sample = pack(frame_of, start, total_frames, end)
        sample['frame_inds'] = recognizer.pipeline.frame_inds(
            start, total_frames, end)
        packed.append(sample)
        return sample

    def recording_predict(batch):
        inputs.append(batch)
        return predict(batch)

    recognizer.pipeline.pack = recording_pack
    recognizer.predict = recording_predict
    windows = recognizer.classify_stream(data['video'], hop=hop)

    assert [(w.start_frame, w.end_frame) for w in windows] == ranges
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == len(inputs) == len(ranges)
    assert len(packed) == (0 if per_frame else len(ranges))
    for index, batch in enumerate(inputs):
        reference = dataset[index]
        expected = recognizer.preprocess([reference])
        assert batch.shape == expected.shape == (1, num_clips, 3, CLIP_LEN,
                                                 SIZE, SIZE)
        assert batch.dtype == expected.dtype == torch.float32
        assert torch.equal(batch, expected)
    for index, sample in enumerate(packed):
        reference = dataset[index]
        np.testing.assert_array_equal(sample['frame_inds'],
                                      sampled_frames(dataset, index))
        assert torch.equal(sample['inputs'], reference['inputs'])
    if packed:
        # The windows overlap: the stream decodes each frame once, so this
        # is the equality of a window's frames, not of a re-decoded clip.
        assert len({int(i) for s in packed for i in s['frame_inds']}) < \
            sum(len(s['frame_inds']) for s in packed)


def sampled_frames(dataset, index):
    """The frame indices the dataset's pipeline samples for a sample (its
    steps up to the frame sampling)."""
    results = dataset.get_data_info(index)
    for transform in dataset.pipeline.transforms:
        results = transform(results)
        if 'frame_inds' in results:
            return results['frame_inds']
    raise AssertionError('the pipeline samples no frames')


@pytest.mark.parametrize('num_frames,hop,expected', [(4, 1, 1), (3, 1, 0),
                                                     (20, 4, 5), (21, 4, 5),
                                                     (20, 3, 6), (20, 2, 9),
                                                     (0, 2, 0)])
def test_number_of_windows(recognizer, num_frames, hop, expected):
    frames = np.random.default_rng(0).integers(
        0, 256, (num_frames, 36, 36, 3), dtype=np.uint8)
    with recognizer.open_stream(frames, hop=hop) as stream:
        assert stream.expected_windows == expected
        windows = list(stream)
        summary = stream.summary()
    assert len(windows) == expected
    assert [w.start_frame for w in windows] == [hop * i
                                                for i in range(expected)]
    assert all(w.end_frame - w.start_frame == CLIP_LEN for w in windows)
    assert summary['windows'] == expected
    assert summary['frames'] == num_frames
    assert summary['skipped_windows'] == summary['dropped_frames'] == 0


def test_a_window_is_the_clip_of_its_range(recognizer):
    """A stream window and classify_clip of the same range agree exactly,
    also for frames from a generator (no length, no random access)."""
    frames = np.random.default_rng(1).integers(0, 256, (14, 36, 44, 3),
                                               dtype=np.uint8)
    windows = recognizer.classify_stream((f for f in frames), hop=5, topk=3)
    assert [(w.start_frame, w.end_frame) for w in windows] == [(0, 4),
                                                              (5, 9),
                                                              (10, 14)]
    for window in windows:
        clip = recognizer.classify_clip(
            frames, (window.start_frame, window.end_frame), topk=3)
        np.testing.assert_array_equal(window.class_scores, clip.class_scores)
        assert window.labels == clip.labels and len(window.labels) == 3
    # The scores differ between windows: the model sees the frames.
    assert not np.array_equal(windows[0].class_scores,
                              windows[1].class_scores)


def test_smoothing_averages_the_last_windows(recognizer):
    frames = np.random.default_rng(2).integers(0, 256, (24, 36, 36, 3),
                                               dtype=np.uint8)
    plain = recognizer.classify_stream(frames, hop=2)
    smoothed = recognizer.classify_stream(frames, hop=2, smooth=3)
    for i, window in enumerate(smoothed):
        mean = np.mean([w.class_scores for w in plain[max(0, i - 2):i + 1]],
                       axis=0)
        assert window.smoothed_label_id == int(np.argmax(mean))
        assert window.smoothed_score == pytest.approx(float(mean.max()))
        assert window.label_ids == plain[i].label_ids


def test_views_are_batched(recognizer):
    """Several synchronised views: one batch per window, each view's scores
    those of the view alone, the label of their mean."""
    rng = np.random.default_rng(3)
    views = [rng.integers(0, 256, (12, 36, 36, 3), dtype=np.uint8)
             for _ in range(3)]
    batches = []
    predict = recognizer.predict

    def recording_predict(inputs):
        batches.append(tuple(inputs.shape))
        return predict(inputs)

    recognizer.predict = recording_predict
    try:
        windows = recognizer.classify_stream([ArraySource(v) for v in views],
                                             hop=4)
    finally:
        del recognizer.predict
    assert batches == [(3, 1, 3, CLIP_LEN, SIZE, SIZE)] * 3
    alone = [recognizer.classify_stream(v, hop=4) for v in views]
    for i, window in enumerate(windows):
        assert window.view_scores.shape == (3, len(recognizer.classes))
        for view in range(3):
            np.testing.assert_allclose(window.view_scores[view],
                                       alone[view][i].class_scores,
                                       rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(window.class_scores,
                                   window.view_scores.mean(axis=0))
        assert window.label_ids[0] == int(np.argmax(window.class_scores))
    clip = recognizer.classify_clip(views, (4, 8))
    np.testing.assert_allclose(clip.view_scores, windows[1].view_scores,
                               rtol=1e-4, atol=1e-6)


class FastCamera(FrameSource):
    """A live source whose frames come faster than the model predicts."""

    live = True
    name = 'camera test'
    fps = 30.0

    def __init__(self, frames, period):
        self.frames, self.period = frames, period

    def __iter__(self):
        for frame in self.frames:
            time.sleep(self.period)
            yield frame


def test_a_live_source_skips_the_windows_it_cannot_keep_up_with(recognizer):
    frames = np.random.default_rng(4).integers(0, 256, (120, 36, 36, 3),
                                               dtype=np.uint8)
    predict = recognizer.predict

    def slow_predict(inputs):
        time.sleep(0.03)  # 3 frames of the camera per window
        return predict(inputs)

    recognizer.predict = slow_predict
    try:
        with recognizer.open_stream(FastCamera(frames, 0.01),
                                    hop=1) as stream:
            windows = list(stream)
            summary = stream.summary()
    finally:
        del recognizer.predict
    starts = [w.start_frame for w in windows]
    assert starts == sorted(set(starts))
    assert summary['skipped_windows'] > 0
    assert len(windows) + summary['skipped_windows'] == 120 - CLIP_LEN + 1
    # Each window is still the clip of its range.
    last = windows[-1]
    clip = recognizer.classify_clip(frames,
                                    (last.start_frame, last.end_frame))
    np.testing.assert_allclose(last.class_scores, clip.class_scores,
                               rtol=1e-5, atol=1e-7)


def test_held_frames_must_be_released(recognizer):
    """keep_frames without release_frames fails instead of waiting
    forever for a reader that has no room left."""
    frames = np.zeros((60, 36, 36, 3), np.uint8)
    with recognizer.open_stream(frames, hop=4, keep_frames=True) as stream:
        with pytest.raises(RuntimeError, match='call release_frames'):
            list(stream)
    with recognizer.open_stream(frames, hop=4, keep_frames=True) as stream:
        windows = []
        for window in stream:
            assert stream.frame(window.end_frame - 1).shape == (36, 36, 3)
            stream.release_frames(window.end_frame)
            windows.append(window)
    assert len(windows) == 15
