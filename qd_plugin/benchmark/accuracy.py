"""The accuracy column: test-split mean class accuracy of every int8 row
(and of PyTorch fp32, the reference), on the same clips, with its 95%
bootstrap interval; and paired intervals of one row against another.

Each measured row runs its own artifact on every test clip, batch 1, from
its own input (tensor rows from the normalised clip, frames rows from the
uint8 frames); a derived row (frames-in or batch of a tensor-in row, the
same artifact on the same values) shares its row's accuracy.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from ..evaluation.bootstrap import (bootstrap_mean_class_accuracy,
                                    paired_bootstrap_difference)
from .frames import iter_frames

#: Coverage of the intervals.
LEVEL = 0.95
def predict_test_split(cases: Sequence, ctx,
                       num_clips: Optional[int] = None) -> Dict:
    """Every case's predicted class on the test clips.

    Returns:
        dict: ``labels`` (N,) and ``predictions`` {key: (N,)}.
    """
    predictions: Dict[str, List[np.ndarray]] = {c.key: [] for c in cases}
    labels = []
    done = 0
    for frames, chunk_labels in iter_frames(ctx.model_cfg, num=num_clips):
        tensors = ctx.normalise(frames)
        for case in cases:
            x = frames if case.input == 'frames' else tensors
            predictions[case.key].append(np.asarray([
                int(case.run(x[i:i + 1]).argmax(-1)[0])
                for i in range(len(x))
            ]))
        labels.append(chunk_labels)
        done += len(frames)
        print_log(f'accuracy: {done} test clips, {len(cases)} rows',
                  logger='current')
    return dict(
        labels=np.concatenate(labels),
        predictions={k: np.concatenate(v) for k, v in predictions.items()})


def interval_dict(interval) -> Dict:
    return dict(
        estimate=round(interval.estimate, 4),
        low=round(interval.low, 4),
        high=round(interval.high, 4),
        level=interval.level)


def evaluate_accuracy(cases: Sequence, ctx,
                      num_clips: Optional[int] = None) -> Dict[str, Dict]:
    """Test mean class accuracy with its interval of each case.

    Args:
        cases (Sequence[BenchCase]): The rows measured
            (:func:`.core.accuracy_cases`).
        ctx (BenchContext): Its ``model_cfg`` gives the test split; the
            labels and predictions are kept in ``ctx.extra['accuracy']``
            (for :func:`paired_differences`).
        num_clips (int, optional): Test clips (spread evenly); None: all, 0:
            no accuracy.

    Returns:
        dict: key -> ``mean_class_accuracy`` (estimate, low, high, level)
        and ``num_clips``.
    """
    if num_clips == 0 or not cases or ctx.normalise is None:
        return {}
    result = predict_test_split(cases, ctx, num_clips)
    ctx.extra['accuracy'] = result
    labels = result['labels']
    return {
        key: dict(
            mean_class_accuracy=interval_dict(
                bootstrap_mean_class_accuracy(labels, preds, level=LEVEL)),
            num_clips=int(len(labels)))
        for key, preds in result['predictions'].items()
    }


def paired_differences(ctx, ours: Sequence[str],
                       peers: Sequence[str]) -> List[Dict]:
    """Mean class accuracy of each of ``ours`` minus each of ``peers`` (row
    keys measured by :func:`evaluate_accuracy`) on the same clips, with the
    paired bootstrap interval; pairs with a missing row are left out."""
    result = ctx.extra.get('accuracy')
    if not result:
        return []
    labels, preds = result['labels'], result['predictions']
    pairs = []
    for a in ours:
        for b in peers:
            if a in preds and b in preds:
                interval = paired_bootstrap_difference(
                    labels, preds[a], preds[b], level=LEVEL)
                pairs.append(dict(
                    row=a, minus=b, num_clips=int(len(labels)),
                    difference=interval_dict(interval),
                    significant=bool(interval.excludes(0.0))))
    return pairs
