"""The plugin inside a plain MMAction2 setup it does not own."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import mmaction

from conftest import shrink_pipeline

MMACTION_MIM = Path(mmaction.__file__).parent / '.mim'

PLAIN_MMACTION_CONFIG = '''
_base_ = [{runtime!r}]
custom_imports = dict(imports=['qd_plugin'], allow_failed_imports=False)

model = dict(
    type='Recognizer3D',
    backbone=dict(type='MobileNet3D', width_mult=0.25),
    cls_head=dict(type='I3DHead', in_channels=256, num_classes=34),
    data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))
dataset = dict(type='DriveActDataset', ann_root={ann_root!r},
               data_prefix=dict(video={video_root!r}))
train_dataloader = dict(
    batch_size=3, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, subset='train', pipeline={pipeline!r}))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
default_hooks = dict(checkpoint=dict(interval=1, save_best=None))
'''


def test_mmaction_own_train_tool_with_custom_imports(tiny_driveact, tmp_path):
    pipeline = shrink_pipeline([
        dict(type='DecordInit'),
        dict(type='SampleChunkFrames', clip_len=16),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, 256)),
        dict(type='CenterCrop', crop_size=224),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ])
    config = tmp_path / 'plain_mmaction_config.py'
    config.write_text(
        PLAIN_MMACTION_CONFIG.format(
            runtime=str(MMACTION_MIM / 'configs/_base_/default_runtime.py'),
            pipeline=pipeline,
            **{k: v for k, v in tiny_driveact.items() if k != 'rows'}))
    result = subprocess.run(
        [sys.executable, str(MMACTION_MIM / 'tools' / 'train.py'),
         str(config), '--work-dir', str(tmp_path / 'work')],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


REGISTRY_SNAPSHOT = textwrap.dedent('''
    import json, sys
    import mmaction.registry as r
    from mmaction.utils import register_all_modules
    register_all_modules()
    if sys.argv[1] == 'with-plugin':
        import qd_plugin
    snapshot = {
        name: {k: f'{v.__module__}.{v.__qualname__}'
               for k, v in getattr(r, name).module_dict.items()}
        for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS')
    }
    print(json.dumps(snapshot))
''')


def registry_snapshot(mode):
    result = subprocess.run([sys.executable, '-c', REGISTRY_SNAPSHOT, mode],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_only_adds_to_mmaction_registries():
    before = registry_snapshot('without-plugin')
    after = registry_snapshot('with-plugin')
    for name, entries in before.items():
        assert {k: after[name][k] for k in entries} == entries, name
    added = {k for name in after for k in set(after[name]) - set(before[name])}
    assert {'DriveActDataset', 'SampleChunkFrames', 'MobileNet3D',
            'InceptionI3D', 'ClassAccuracyMetric'} <= added
    assert all(after[name][k].startswith('qd_plugin.')
               for name in after for k in set(after[name]) - set(before[name]))
