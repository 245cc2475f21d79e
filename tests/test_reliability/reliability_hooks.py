"""Test-only hooks, imported by the tiny configs of these tests through
``custom_imports`` (their directory is on ``PYTHONPATH`` in subprocesses)."""
import json
import os
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


class SimulatedInterruption(Exception):
    """Raised to stop a training run as a crash or Ctrl-C would."""


@HOOKS.register_module()
class ReliabilityInterruptHook(Hook):
    """Stop training right after epoch ``epoch`` (1-based) was saved."""

    priority = 'LOWEST'  # after the CheckpointHook

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            raise SimulatedInterruption(f'stopped after epoch {self.epoch}')


@HOOKS.register_module()
class ReliabilityRankBuffersHook(Hook):
    """Save every buffer of this rank's model to
    ``<work_dir>/rank_buffers/rank<rank>_<when>.pth``: ``before_sync`` after
    the last iteration of the epoch, ``after_sync`` after the epoch's hooks
    (SyncBuffersHook included)."""

    priority = 'LOWEST'

    def _save(self, runner, when: str) -> None:
        model = runner.model
        wrapper = type(model).__name__
        if is_model_wrapper(model):
            model = model.module
        out_dir = osp.join(runner.work_dir, 'rank_buffers')
        os.makedirs(out_dir, exist_ok=True)
        buffers = {
            name: buffer.detach().clone()
            for name, buffer in model.named_buffers()
        }
        torch.save(
            dict(wrapper=wrapper, buffers=buffers),
            osp.join(out_dir, f'rank{get_rank()}_{when}.pth'))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if batch_idx == len(runner.train_dataloader) - 1:
            self._save(runner, 'before_sync')

    def after_train_epoch(self, runner) -> None:
        self._save(runner, 'after_sync')


@HOOKS.register_module()
class ReliabilitySampleOrderHook(Hook):
    """Append each training epoch's sample order to
    ``<work_dir>/sample_order.jsonl`` as ``{"epoch": ..., "indices": ...}``.
    """

    priority = 'LOWEST'  # after DistSamplerSeedHook set the epoch

    def before_train_epoch(self, runner) -> None:
        indices = list(runner.train_dataloader.batch_sampler.sampler)
        with open(osp.join(runner.work_dir, 'sample_order.jsonl'), 'a') as f:
            f.write(json.dumps(dict(epoch=runner.epoch, indices=indices)) +
                    '\n')
