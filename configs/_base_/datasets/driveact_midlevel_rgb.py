# Drive&Act fine-grained (midlevel, 34 classes) activities, one view, split 0.
# A sample is an annotated chunk of <=90 frames; 16 frames are sampled inside
# it (random in training, centred in testing) and cropped to 224x224.
dataset_type = 'DriveActDataset'
data_root = 'data/driveact/videos'
ann_root = 'data/driveact/activities_3s'
split = 0
views = ('inner_mirror', )
clip_len = 16

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleChunkFrames', clip_len=clip_len, frame_interval=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop', area_range=(0.3, 1.0)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(
        type='SampleChunkFrames',
        clip_len=clip_len,
        frame_interval=1,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    # Persistent workers keep their random state across epochs, which
    # `--resume` cannot restore (see EpochSeedHook).
    persistent_workers=False,
    sampler=dict(type='ClassBalancedSampler'),
    # BatchNorm cannot train on a last batch of one sample at small clip
    # sizes: that batch is dropped.
    batch_sampler=dict(type='NoSingletonBatchSampler'),
    dataset=dict(
        type=dataset_type,
        ann_root=ann_root,
        data_prefix=dict(video=data_root),
        split=split,
        subset='train',
        views=views,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_root=ann_root,
        data_prefix=dict(video=data_root),
        split=split,
        subset='val',
        views=views,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_root=ann_root,
        data_prefix=dict(video=data_root),
        split=split,
        subset='test',
        views=views,
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='ClassAccuracyMetric')
test_evaluator = val_evaluator
