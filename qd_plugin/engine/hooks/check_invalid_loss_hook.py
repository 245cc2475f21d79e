import math
from typing import Any, Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


class InvalidLossError(FloatingPointError):
    """A training iteration whose loss is NaN or infinite."""


def _value(value: Any) -> Optional[float]:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Stop training at the first iteration whose loss is not finite.

    The check of MMDetection's hook of this name (MMEngine has none), with a
    message that names the epoch, the iteration and every loss term, so that
    the term at fault is seen (e.g. the distillation loss with ``T=0``).
    It runs before the CheckpointHook (``'VERY_LOW'``), so no checkpoint of
    the NaN weights is saved and the best checkpoint is kept.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[Dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner,
                                                       self.interval):
            return
        terms = {
            name: _value(value)
            for name, value in outputs.items() if 'loss' in name
        }
        if all(v is None or math.isfinite(v) for v in terms.values()):
            return
        listed = ', '.join(f'{name}={value:.4g}'
                           for name, value in terms.items()
                           if value is not None)
        batches = len(runner.train_dataloader)
        raise InvalidLossError(
            f'non-finite loss at epoch {runner.epoch + 1}, iteration '
            f'{batch_idx + 1}/{batches} (iteration {runner.iter + 1} of the '
            f'run): {listed}. Training stopped; no checkpoint of these '
            'weights was saved. Check the learning rate and the loss '
            'settings (e.g. T > 0 for distillation), and the inputs')
