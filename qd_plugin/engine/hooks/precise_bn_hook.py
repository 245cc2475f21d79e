import itertools
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Recompute BatchNorm statistics on training batches before validating.

    BN running statistics are an exponential average over the steps; a short
    run changes the weights faster than the average follows, so an eval-mode
    model can score at chance while it fits its training batches. Before each
    validation this sets the statistics of every BN layer that trains (frozen
    ones, e.g. a distillation teacher's, are left alone) to their plain
    average over ``num_batches`` training batches with the current weights.

    Not for quantization-aware training: forward passes there also update the
    quantization observers.

    Args:
        num_batches (int): Training batches to average over. Defaults to 10.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_batches: int = 10) -> None:
        self.num_batches = num_batches

    def before_val_epoch(self, runner) -> None:
        """Recompute the statistics of the model's training BN layers."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        layers = [
            m for m in model.modules()
            if isinstance(m, _BatchNorm) and m.training
            and m.track_running_stats
        ]
        if not layers:
            return
        momenta = [layer.momentum for layer in layers]
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # cumulative average
        with torch.no_grad():
            for data in itertools.islice(runner.train_dataloader,
                                         self.num_batches):
                data = model.data_preprocessor(data, True)
                model(**data, mode='tensor')
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
