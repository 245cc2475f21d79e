import json

import numpy as np
import pytest
import torch

from qd_plugin.evaluation import ClassAccuracyMetric


def evaluate(metric, scores, labels):
    samples = [
        dict(pred_scores=dict(item=torch.tensor(s, dtype=torch.float32)),
             gt_labels=dict(item=torch.tensor([l])))
        for s, l in zip(scores, labels)
    ]
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def one_hot(preds, num_classes):
    return np.eye(num_classes)[preds]


def test_mean_class_accuracy_averages_ground_truth_classes(tmp_path):
    # class 0: 3/4 right, class 1: 1/2 right, class 2 only ever predicted.
    labels = [0, 0, 0, 0, 1, 1]
    preds = [0, 0, 0, 2, 1, 2]
    metric = ClassAccuracyMetric(topk=(1, ), out_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    results = evaluate(metric, one_hot(preds, 3), labels)
    assert results['mean_class_accuracy'] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert results['top1'] == pytest.approx(4 / 6)
    per_class = json.loads((tmp_path / 'per_class_accuracy.json').read_text())
    assert per_class == {
        'a': dict(accuracy=0.75, support=4),
        'b': dict(accuracy=0.5, support=2)
    }
    assert (tmp_path / 'confusion_matrix.png').stat().st_size > 1000


def test_topk_and_prefixed_files(tmp_path):
    scores = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
    metric = ClassAccuracyMetric(
        topk=(1, 2), out_dir=str(tmp_path), prefix='teacher')
    results = evaluate(metric, scores, [2, 1])
    assert results['top1'] == 0.0 and results['top2'] == pytest.approx(1.0)
    assert (tmp_path / 'teacher_per_class_accuracy.json').exists()


def test_topk_larger_than_class_count_is_left_out(tmp_path):
    metric = ClassAccuracyMetric(topk=(1, 5), out_dir=str(tmp_path))
    results = evaluate(metric, one_hot([0, 1], 2), [0, 1])
    assert set(results) == {'mean_class_accuracy', 'top1'}


def test_predictions_are_written_in_dataset_order(tmp_path):
    scores = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    metric = ClassAccuracyMetric(topk=(1, ), out_dir=str(tmp_path))
    evaluate(metric, scores, [2, 0, 2])
    written = json.loads((tmp_path / 'predictions.json').read_text())
    assert written['labels'] == [2, 0, 2]
    np.testing.assert_allclose(written['scores'], scores, atol=1e-6)
