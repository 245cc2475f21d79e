from mmaction.registry import LOOPS
from mmrazor.engine.runner import QATValLoop


@LOOPS.register_module()
class QATMergedValLoop(QATValLoop):
    """MMRazor's ``QATValLoop`` whose hooks see one evaluation with all its
    metrics.

    The upstream loop evaluates the fake-quantized model (``qat.`` metrics)
    and the float architecture it trains (``original.`` metrics), but calls
    the ``after_val_epoch`` hooks once per model, each time with only that
    model's metrics: ``CheckpointHook(save_best='qat.<metric>')`` then fails
    with ``KeyError`` on the second call. This loop runs the same two
    evaluations and calls ``after_val_epoch`` once, with both sets.
    """

    def run(self) -> dict:
        """Validate both models; returns the ``qat.`` and ``original.``
        metrics."""
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        metrics = dict()
        for prefix, model in (('qat', self.runner.model),
                              ('original', self.architecture)):
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch, model)
            evaluated = self.evaluator.evaluate(len(self.dataloader.dataset))
            metrics.update({
                f'{prefix}.{key}': value
                for key, value in evaluated.items()
            })
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
