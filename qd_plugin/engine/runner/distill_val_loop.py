from typing import Dict, Optional, Sequence

from mmaction.registry import LOOPS
from mmrazor.engine.runner import SingleTeacherDistillValLoop


@LOOPS.register_module()
class DistillValLoop(SingleTeacherDistillValLoop):
    """MMRazor's ``SingleTeacherDistillValLoop`` whose teacher pass writes
    its metric files under a ``teacher_`` prefix and, for a frozen teacher,
    runs once.

    The upstream loop evaluates the student, then the teacher, with the same
    evaluator, so the teacher's per-class accuracy and confusion matrix
    (:class:`~qd_plugin.evaluation.ClassAccuracyMetric`) replaced the
    student's in the run's log dir. Metrics with a ``file_prefix``
    attribute get ``''`` for the student pass and ``'teacher_'`` for the
    teacher pass. A teacher that does not train gives the same metrics at
    every validation, so with ``frozen_teacher`` it is evaluated at the first
    one only and its ``teacher.*`` metrics are reported again afterwards.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The validation dataloader.
        evaluator (Evaluator | dict | list): The validation evaluator.
        fp16 (bool): Autocast the validation. Defaults to False.
        frozen_teacher (bool): Evaluate the teacher only once. Defaults to
            True; set it to False for a teacher that trains.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator,
                 fp16: bool = False,
                 frozen_teacher: bool = True) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.frozen_teacher = frozen_teacher
        self._teacher_metrics: Optional[Dict[str, float]] = None

    def run(self) -> None:
        """Validate the student, then the teacher unless it is frozen and was
        validated before (the upstream ``run`` otherwise)."""
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self._teacher_metrics is None or not self.frozen_teacher:
            self.runner.call_hook('before_val_epoch')
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter_teacher(idx, data_batch)
            self._teacher_metrics = {
                f'teacher.{key}': value for key, value in
                self.evaluator.evaluate(len(self.dataloader.dataset)).items()
            }
        metrics.update(self._teacher_metrics)
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')

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
