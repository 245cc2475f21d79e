default_scope = 'mmaction'
# Strict checkpoint loading, atomic checkpoint writes, a --resume that
# survives moved work dirs (qd_plugin.engine.runner.CheckpointSafeRunner).
runner_type = 'CheckpointSafeRunner'
custom_imports = dict(imports=['qd_plugin'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        interval=5,
        save_best='acc/mean_class_accuracy',
        rule='greater',
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))
# Re-seeds before every training epoch from (seed, epoch, rank), so that a
# resumed run trains exactly like an uninterrupted one.
# CheckInvalidLossHook stops at the first NaN/inf loss, naming the iteration
# and the loss terms, before a checkpoint of the broken weights is saved.
custom_hooks = [dict(type='EpochSeedHook'), dict(type='CheckInvalidLossHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
