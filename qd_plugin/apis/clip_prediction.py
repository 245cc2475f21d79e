from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np


def top_k(scores: np.ndarray, k: int) -> List[int]:
    """Indices of the ``k`` highest scores, highest first (ties in class
    order)."""
    return [int(i) for i in np.argsort(-scores, kind='stable')[:k]]


@dataclass
class ClipPrediction:
    """What a recognizer says about one clip (of one or several views).

    Attributes:
        label_ids (list[int]): The top-k classes, best first.
        labels (list[str]): Their names.
        scores (list[float]): Their scores.
        class_scores (np.ndarray): Every class's score, (num_classes, ); for
            several views the mean over the views.
        view_scores (np.ndarray, optional): Per view, (num_views,
            num_classes), when several views were given.
    """

    label_ids: List[int]
    labels: List[str]
    scores: List[float]
    class_scores: np.ndarray
    view_scores: Optional[np.ndarray] = None

    @classmethod
    def from_scores(cls, view_scores: np.ndarray, classes: Sequence[str],
                    topk: int) -> 'ClipPrediction':
        """From the class scores of each view, (num_views, num_classes)."""
        view_scores = np.asarray(view_scores, dtype=np.float64)
        class_scores = view_scores.mean(axis=0)
        ids = top_k(class_scores, topk)
        return cls(ids, [classes[i] for i in ids],
                   [float(class_scores[i]) for i in ids], class_scores,
                   view_scores if len(view_scores) > 1 else None)

    @property
    def label(self) -> str:
        """The top-1 class."""
        return self.labels[0]

    @property
    def score(self) -> float:
        """The top-1 score."""
        return self.scores[0]

    def to_dict(self) -> Dict:
        """The top-k (and each view's top-1), JSON-serialisable."""
        record: Dict = dict(
            label=self.label,
            score=self.score,
            topk=[[label, score]
                  for label, score in zip(self.labels, self.scores)])
        if self.view_scores is not None:
            record['view_label_ids'] = [
                int(i) for i in self.view_scores.argmax(axis=1)
            ]
        return record
