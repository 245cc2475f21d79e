"""Settings that shrink a config for a fast run (``run_flow.py --preset``)."""
import math
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config


def shrink_pipeline(pipeline: List[Dict],
                    clip_len: int = 8,
                    size: int = 64,
                    frame_interval: int = 1,
                    crop_area: Optional[Tuple[float, float]] = None
                    ) -> List[Dict]:
    """The same data pipeline with shorter clips and smaller frames.

    Args:
        pipeline (list[dict]): Transforms of a Drive&Act config.
        clip_len (int): Frames per clip. Defaults to 8.
        size (int): Side of the square input. Defaults to 64.
        frame_interval (int): Step between sampled frames, so that a short
            clip still spans the motion. Defaults to 1.
        crop_area (tuple[float, float], optional): ``area_range`` of the
            ``RandomResizedCrop`` augmentation; unchanged when None.

    Returns:
        list[dict]: A new pipeline; the input is not changed.
    """
    small = []
    for step in pipeline:
        step = dict(step)
        if step['type'] == 'SampleChunkFrames':
            step['clip_len'] = clip_len
            step['frame_interval'] = frame_interval
        elif step['type'] == 'Resize':
            keep_ratio = step.get('keep_ratio', True)
            step['scale'] = (-1, size) if keep_ratio else (size, size)
        elif step['type'] == 'CenterCrop':
            step['crop_size'] = size
        elif step['type'] == 'RandomResizedCrop' and crop_area:
            step['area_range'] = tuple(crop_area)
        small.append(step)
    return small


def shrink_config(cfg: Config,
                  max_epochs: int,
                  clip_len: int = 8,
                  size: int = 64,
                  frame_interval: int = 1,
                  batch_size: int = 8,
                  num_workers: int = 1,
                  epoch_length: Optional[int] = None,
                  optimizer: Optional[Dict] = None,
                  crop_area: Optional[Tuple[float, float]] = None) -> Config:
    """Shrink a train config in place: small clips, few epochs.

    The learning-rate milestones and the QAT freeze epochs keep their place
    relative to the schedule; QAT input shapes follow the clip size. With
    ``optimizer``, the optimizer is replaced and the learning rate follows a
    cosine from its value to 0, per iteration.

    Args:
        cfg (Config): A config of ``configs/`` (loaded, variables bound).
        max_epochs (int): Training epochs.
        clip_len (int): Frames per clip. Defaults to 8.
        size (int): Side of the square input. Defaults to 64.
        frame_interval (int): Step between sampled frames. Defaults to 1.
        batch_size (int): Samples per batch. Defaults to 8.
        num_workers (int): Data loading workers. Defaults to 1.
        epoch_length (int, optional): Training clips per epoch (the
            ``ClassBalancedSampler``'s ``epoch_length``); unchanged when None.
        optimizer (dict, optional): Optimizer config that replaces the
            config's, e.g. ``dict(type='AdamW', lr=1e-3)``.
        crop_area (tuple[float, float], optional): ``area_range`` of the
            training crop augmentation; unchanged when None.

    Returns:
        Config: ``cfg``.
    """
    full_epochs = cfg.train_cfg.max_epochs
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.batch_size = batch_size
        loader.num_workers = num_workers
        # Resuming reproduces the data order only without persistent workers.
        loader.persistent_workers = False
        loader.dataset.pipeline = shrink_pipeline(loader.dataset.pipeline,
                                                  clip_len, size,
                                                  frame_interval, crop_area)
    if epoch_length is not None:
        cfg.train_dataloader.sampler.epoch_length = epoch_length
    scale = max_epochs / full_epochs
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = 1
    if optimizer is not None:
        cfg.optim_wrapper.optimizer = dict(optimizer)
        cfg.param_scheduler = [
            dict(
                type='CosineAnnealingLR',
                T_max=max_epochs,
                by_epoch=True,
                begin=0,
                end=max_epochs,
                convert_to_iter_based=True)
        ]
    for scheduler in cfg.param_scheduler:
        scheduler.end = max_epochs
        if 'milestones' in scheduler:
            scheduler.milestones = sorted(
                {max(1, round(m * scale)) for m in scheduler.milestones})
    for key in ('freeze_bn_begin', 'disable_observer_begin'):
        if key in cfg.train_cfg:
            # Never from the first epoch: the observers must calibrate first.
            cfg.train_cfg[key] = max(2, math.ceil(cfg.train_cfg[key] * scale))
    shape = (1, 1, 3, clip_len, size, size)
    if 'input_shapes' in cfg.model:
        cfg.model.input_shapes = shape
    if 'input_shape' in cfg.test_cfg:
        cfg.test_cfg.input_shape = shape
    if 'freeze_bn_begin' not in cfg.train_cfg:
        # Few steps: recompute BN statistics before validating (the best
        # checkpoint, saved after validation, keeps them). Not for QAT.
        cfg.custom_hooks = [
            *cfg.get('custom_hooks', []),
            dict(type='PreciseBNHook', num_batches=10)
        ]
    cfg.default_hooks.logger.interval = 10
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    return cfg
