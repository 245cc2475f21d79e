import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Union

import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from torch.ao.quantization import disable_observer, enable_fake_quant
from torch.utils.data import DataLoader

from mmaction.registry import LOOPS
from ...quantization.int8 import (Int8Classifier, convert_to_int8, export_torchscript,
                   int8_meta, quantized_engine, serialized_size,
                   torchscript_bytes)
from ...quantization.float_report import float_operations
from ...quantization.int8_recognizer import Int8Recognizer

MB = 1e6


@LOOPS.register_module()
class QATInt8TestLoop(TestLoop):
    """Test a quantization-aware trained model as fake-quant and as int8.

    For an ``MMArchitectureQuant`` whose architecture is a
    :class:`~qd_plugin.models.recognizers.TraceableRecognizer3D`:

    1. the fake-quantized model (observers off) is tested;
    2. its ``'tensor'`` graph is converted into a true int8 model
       (:func:`~qd_plugin.quantization.int8.convert_to_int8`, quantized
       Conv3d modules for ``engine``), traced to TorchScript and saved as
       ``<work_dir>/<artifact>`` (the main process only);
    3. the traced int8 model is tested through the same loop
       (:meth:`run_iter`, hooks, evaluator), wrapped in an
       :class:`~qd_plugin.quantization.int8_recognizer.Int8Recognizer`.

    The metrics come back as ``fakequant/<metric>`` and ``int8/<metric>``,
    plus ``float/size_mb`` (the float architecture's state dict as
    ``torch.save`` writes it), ``int8/size_mb`` (the TorchScript file) and
    ``int8/compression_ratio`` (their ratio); 1 MB is 10^6 bytes. Metrics
    that write files and have an ``out_dir`` attribute left as None (e.g.
    ``ClassAccuracyMetric``) write them into ``fakequant/`` and ``int8/``
    subfolders of the run's log folder.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader.
        evaluator (Evaluator | dict | list): The test evaluator.
        fp16 (bool): Autocast the fake-quant pass. Defaults to False.
        engine (str): Quantized engine of the int8 model. Defaults to
            ``'x86'`` (on x86 CPUs about 11x faster than ``'fbgemm'`` for
            Conv3d, same outputs).
        artifact (str): File name of the TorchScript model in the work dir.
            Defaults to ``'int8_model.pt'``.
        input_shape (Sequence[int], optional): Input shape to trace with;
            defaults to the algorithm's ``input_shapes``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 fp16: bool = False,
                 engine: str = 'x86',
                 artifact: str = 'int8_model.pt',
                 input_shape: Optional[List[int]] = None) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.engine = engine
        self.artifact = artifact
        self.input_shape = input_shape

    def run(self) -> Dict[str, float]:
        """Test the fake-quant model, export and test the int8 model.

        Returns:
            dict[str, float]: ``fakequant/*``, ``int8/*`` and ``float/*``
            metrics.
        """
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')

        qat_model = self.runner.model
        qat_model.apply(enable_fake_quant)
        qat_model.apply(disable_observer)
        metrics = self._prefixed(self._test_pass('fakequant'), 'fakequant')

        algorithm = qat_model.module if is_model_wrapper(
            qat_model) else qat_model
        input_shape = tuple(self.input_shape or algorithm.input_shapes)
        meta = int8_meta(algorithm, input_shape, self.engine)
        int8_graph = convert_to_int8(algorithm, 'tensor', self.engine)
        with quantized_engine(self.engine):
            float_ops = float_operations(int8_graph, torch.randn(input_shape))
        self.runner.logger.info(
            f'int8 model: {len(float_ops)} operations left in float' +
            (': ' + ', '.join(float_ops) if float_ops else ''))
        int8_model = Int8Classifier(int8_graph)
        traced = export_torchscript(
            int8_model, torch.randn(input_shape), engine=self.engine)
        int8_bytes = torchscript_bytes(traced, meta)
        path = osp.join(self.runner.work_dir, self.artifact)
        if is_main_process():
            with open(path, 'wb') as f:
                f.write(int8_bytes)

        int8_recognizer = Int8Recognizer(
            traced, algorithm.architecture.cls_head.predict_by_feat,
            algorithm.data_preprocessor)
        with quantized_engine(self.engine), self._runner_model(
                int8_recognizer):
            metrics.update(
                self._prefixed(self._test_pass('int8'), 'int8'))

        float_size = serialized_size(
            {k: v.cpu()
             for k, v in algorithm.architecture.state_dict().items()})
        metrics['float/size_mb'] = float_size / MB
        metrics['int8/size_mb'] = len(int8_bytes) / MB
        metrics['int8/compression_ratio'] = float_size / len(int8_bytes)
        self.runner.logger.info(
            f'int8 model ({self.engine} engine) saved to {path}: '
            f'{len(int8_bytes) / MB:.3f} MB, float state dict '
            f'{float_size / MB:.3f} MB '
            f'({float_size / len(int8_bytes):.2f}x smaller)')

        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    def _test_pass(self, name: str) -> Dict[str, float]:
        """One pass over the test set with ``runner.model``."""
        self.runner.model.eval()
        self.test_loss.clear()
        with self._metric_out_dirs(name):
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
            return self.evaluator.evaluate(len(self.dataloader.dataset))

    @staticmethod
    def _prefixed(metrics: Dict[str, float],
                  prefix: str) -> Dict[str, float]:
        return {f'{prefix}/{key}': value for key, value in metrics.items()}

    @contextmanager
    def _runner_model(self, model: torch.nn.Module) -> Iterator[None]:
        """Let ``runner.model`` be ``model`` inside."""
        original = self.runner.model
        self.runner.model = model
        try:
            yield
        finally:
            self.runner.model = original

    @contextmanager
    def _metric_out_dirs(self, name: str) -> Iterator[None]:
        """Send the files of metrics with an unset ``out_dir`` to a
        ``name`` subfolder of the run's log folder."""
        log_dir = getattr(self.runner, 'log_dir', None)
        changed = [
            metric for metric in self.evaluator.metrics
            if hasattr(metric, 'out_dir') and metric.out_dir is None
        ] if log_dir else []
        for metric in changed:
            metric.out_dir = osp.join(log_dir, name)
        try:
            yield
        finally:
            for metric in changed:
                metric.out_dir = None
