import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from mmaction.evaluation import AccMetric
from mmaction.registry import METRICS


def confusion_matrix(labels: np.ndarray, preds: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """Counts of (ground truth, prediction) pairs; rows are ground truth."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, preds), 1)
    return matrix


@METRICS.register_module()
class ClassAccuracyMetric(AccMetric):
    """Mean per-class accuracy (the Drive&Act benchmark metric) and top-k.

    Mean class accuracy averages the recall of every class present in the
    ground truth (balanced accuracy). MMAction2's ``mean_class_accuracy``
    also averages a 0 for classes that are only predicted, which is not the
    benchmark's definition.

    Besides the scalar metrics, the per-class accuracies
    (``per_class_accuracy.json``), every sample's label and class scores in
    dataset order (``predictions.json``, for paired comparisons of models on
    the same clips) and the confusion matrix (PNG) are written to
    ``out_dir``: by default the log directory of the current run, inside the
    work dir.

    Args:
        topk (Sequence[int]): The k of the top-k accuracies.
            Defaults to (1, 5).
        out_dir (str, optional): Where to write the per-class files; None
            means the current run's log directory. Defaults to None.
        collect_device (str): Device to gather results on in distributed
            evaluation. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names.
            Defaults to ``'acc'``.
    """

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            metric_list='top_k_accuracy',
            collect_device=collect_device,
            metric_options=dict(top_k_accuracy=dict(topk=tuple(topk))),
            prefix=prefix)
        self.topk = tuple(topk)
        self.out_dir = out_dir
        # Set by loops that evaluate several models with one evaluator
        # (``DistillValLoop``), so that their files do not replace each other.
        self.file_prefix = ''

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the metrics and write the per-class files.

        Args:
            results (list[dict]): ``pred`` scores and ``label`` per sample.

        Returns:
            dict[str, float]: ``mean_class_accuracy`` and ``top{k}``.
        """
        scores = np.stack([r['pred']['item'] for r in results])
        labels = np.array([r['label'] for r in results], dtype=np.int64)
        classes = (self.dataset_meta or {}).get('classes')
        num_classes = len(classes) if classes else scores.shape[1]
        matrix = confusion_matrix(labels, scores.argmax(axis=1), num_classes)
        support = matrix.sum(axis=1)
        present = np.flatnonzero(support)
        recall = np.diag(matrix)[present] / support[present]

        metrics = OrderedDict(mean_class_accuracy=float(recall.mean()))
        ranked = np.argsort(-scores, axis=1)
        for k in self.topk:
            if k <= num_classes:
                hits = (ranked[:, :k] == labels[:, None]).any(axis=1)
                metrics[f'top{k}'] = float(hits.mean())

        out_dir = self.out_dir or self._run_log_dir()
        if out_dir:
            names = classes or [str(i) for i in range(num_classes)]
            self._write_files(out_dir, matrix, names, present, recall)
            self._write_predictions(out_dir, labels, scores)
        return metrics

    @staticmethod
    def _run_log_dir() -> Optional[str]:
        log_file = MMLogger.get_current_instance().log_file
        return osp.dirname(log_file) if log_file else None

    def _file_stem(self) -> str:
        return self.file_prefix + ('' if self.prefix == self.default_prefix
                                   else f'{self.prefix}_')

    def _write_predictions(self, out_dir: str, labels: np.ndarray,
                           scores: np.ndarray) -> None:
        path = osp.join(out_dir, f'{self._file_stem()}predictions.json')
        with open(path, 'w') as f:
            json.dump(dict(labels=labels.tolist(),
                           scores=np.round(scores, 6).tolist()), f)

    def _write_files(self, out_dir: str, matrix: np.ndarray,
                     names: Sequence[str], present: np.ndarray,
                     recall: np.ndarray) -> None:
        os.makedirs(out_dir, exist_ok=True)
        stem = self._file_stem()
        per_class = {
            names[c]: dict(accuracy=float(acc), support=int(matrix[c].sum()))
            for c, acc in zip(present, recall)
        }
        with open(osp.join(out_dir, f'{stem}per_class_accuracy.json'),
                  'w') as f:
            json.dump(per_class, f, indent=2)
        plot_confusion_matrix(matrix[present][:, present],
                              [names[c] for c in present],
                              osp.join(out_dir, f'{stem}confusion_matrix.png'))


def plot_confusion_matrix(matrix: np.ndarray, names: Sequence[str],
                          path: str) -> None:
    """Save a row-normalized confusion matrix as a PNG.

    Args:
        matrix (np.ndarray): Counts, rows are ground truth.
        names (Sequence[str]): Class names of the rows/columns.
        path (str): Output file.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    normalized = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.35 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(normalized, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel('predicted')
    ax.set_ylabel('ground truth')
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
