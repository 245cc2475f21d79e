from typing import Sequence

from mmaction.registry import LOOPS
from mmrazor.engine.runner import SingleTeacherDistillValLoop


@LOOPS.register_module()
class DistillValLoop(SingleTeacherDistillValLoop):
    """MMRazor's ``SingleTeacherDistillValLoop`` whose teacher pass writes
    its metric files under a ``teacher_`` prefix.

    The upstream loop evaluates the student, then the teacher, with the same
    evaluator, so the teacher's per-class accuracy and confusion matrix
    (:class:`~qd_plugin.evaluation.ClassAccuracyMetric`) replaced the
    student's in the run's log dir. Metrics with a ``file_prefix``
    attribute get ``''`` for the student pass and ``'teacher_'`` for the
    teacher pass; the metric values are those of the upstream loop.
    """

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        if idx == 0:
            self._set_file_prefix('')
        super().run_iter(idx, data_batch)

    def run_iter_teacher(self, idx: int, data_batch: Sequence[dict]) -> None:
        if idx == 0:
            self._set_file_prefix('teacher_')
        super().run_iter_teacher(idx, data_batch)

    def _set_file_prefix(self, prefix: str) -> None:
        for metric in self.evaluator.metrics:
            if hasattr(metric, 'file_prefix'):
                metric.file_prefix = prefix
