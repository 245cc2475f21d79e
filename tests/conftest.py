import csv
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np
import pytest
from mmaction.utils import register_all_modules

import qd_plugin  # noqa: F401
from qd_plugin.datasets.driveact_classes import DRIVEACT_CSV_COLUMNS
from qd_plugin.datasets.driveact_layout import split_file_path
from qd_plugin.flow import quick

# Configs and recognizers are built in the mmaction scope, as the Runner does.
register_all_modules(init_default_scope=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Checkpoint layouts of the public pretrained weights (see data/README.md).
FIXTURES = Path(__file__).resolve().parent / 'data'
HEADER = DRIVEACT_CSV_COLUMNS


def x86_qat_qconfig() -> Dict:
    """The QAT qconfig of ``configs/_base_/quantization/qat_x86.py``:
    per-channel symmetric int8 weights, affine uint8 activations."""
    from mmengine.config import Config
    path = REPO_ROOT / 'configs' / '_base_' / 'quantization' / 'qat_x86.py'
    return Config.fromfile(str(path)).qat_global_qconfig.to_dict()


def write_video(path: Path, num_frames: int, size=(24, 32)) -> None:
    """Write an mp4v video whose frame i is a flat grey of level 4 * i."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 30, (width, height))
    for i in range(num_frames):
        writer.write(np.full((height, width, 3), (4 * i) % 256, np.uint8))
    writer.release()


def write_split(path: Path, rows: Sequence[Dict], header=HEADER) -> None:
    """Write a Drive&Act split CSV with the given rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


def chunk_row(file_id: str, start: int, end: int, activity: str,
              annotation_id: int = 0, chunk_id: int = 0) -> Dict:
    return dict(
        participant_id=int(file_id.split('/')[0][2:]),
        file_id=file_id,
        annotation_id=annotation_id,
        frame_start=start,
        frame_end=end,
        activity=activity,
        chunk_id=chunk_id)


#: The two 60-frame recordings of ``tiny_driveact``.
TINY_FILES = ('vp1/run1_2018-05-29-14-02-47.ids_1',
              'vp2/run1_2018-05-30-10-00-00.ids_1')


def write_splits(ann_root: Path, rows: Dict[str, List[Dict]]) -> None:
    """One split file per subset: split 0 of the inner_mirror view."""
    for subset, subset_rows in rows.items():
        write_split(Path(split_path(str(ann_root), subset)), subset_rows)


@pytest.fixture
def tiny_driveact(tmp_path) -> Dict:
    """Two 60-frame recordings, split 0 of the inner_mirror view.

    Returns a dict with ``ann_root``, ``video_root`` and the ``rows`` written
    per subset.
    """
    video_root = tmp_path / 'videos'
    ann_root = tmp_path / 'activities_3s'
    files = TINY_FILES
    for file_id in files:
        write_video(video_root / f'{file_id}.mp4', 60)
    rows: Dict[str, List[Dict]] = {
        'train': [
            chunk_row(files[0], 0, 20, 'drinking', 0, 0),
            chunk_row(files[0], 20, 40, 'drinking', 0, 1),
            chunk_row(files[0], 40, 60, 'eating', 1, 0),
        ],
        'val': [chunk_row(files[1], 0, 30, 'eating', 2, 0)],
        'test': [
            chunk_row(files[1], 10, 30, 'drinking', 3, 0),
            chunk_row(files[1], 30, 60, 'writing', 4, 0)
        ],
    }
    write_splits(ann_root, rows)
    return dict(ann_root=str(ann_root), video_root=str(video_root), rows=rows)


def split_path(ann_root: str, subset: str, view: str = 'inner_mirror',
               split: int = 0) -> str:
    return split_file_path(ann_root, view, split, subset)


def shrink_pipeline(pipeline: List[Dict], clip_len: int = 4,
                    size: int = 64) -> List[Dict]:
    """The same pipeline with short clips and small frames, for fast tests."""
    return quick.shrink_pipeline(pipeline, clip_len, size)


def tiny_config(config_path: str, data: Dict, work_dir: str):
    """Load a config and point it at ``data`` with tiny, fast settings."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO_ROOT / config_path))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.batch_size = 2
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.ann_root = data['ann_root']
        loader.dataset.data_prefix = dict(video=data['video_root'])
        loader.dataset.pipeline = shrink_pipeline(loader.dataset.pipeline)
    return cfg


def accuracies(scores, labels) -> Dict[str, float]:
    """Top-1 and mean class accuracy (mean recall over the ground-truth
    classes, the Drive&Act metric), computed here independently of the
    plugin's metric."""
    scores, labels = np.asarray(scores), np.asarray(labels).astype(int)
    predicted = scores.argmax(axis=1)
    recalls = [
        np.mean(predicted[labels == label] == label)
        for label in sorted(set(labels.tolist()))
    ]
    return {
        'acc/top1': float(np.mean(predicted == labels)),
        'acc/mean_class_accuracy': float(np.mean(recalls))
    }


def dumped_accuracies(pkl_path) -> Dict[str, float]:
    """:func:`accuracies` of the predictions ``tools/test.py --dump``
    wrote."""
    import pickle
    with open(pkl_path, 'rb') as f:
        samples = pickle.load(f)
    scores = [np.asarray(s['pred_scores']['item']) for s in samples]
    labels = [int(np.asarray(s['gt_labels']['item']).reshape(-1)[0])
              for s in samples]
    return accuracies(np.stack(scores), labels)


def qat_reference_accuracies(config_file, checkpoint, int8_artifact
                             ) -> Dict[str, float]:
    """What ``tools/test.py`` must report for a QAT checkpoint, computed
    here on the test set: the fake-quant model loaded from ``checkpoint``
    (``fakequant/...``) and the saved int8 TorchScript (``int8/...``)."""
    import torch
    from mmengine.config import Config

    from qd_plugin.deploy.data import build_dataset, load_samples
    from qd_plugin.deploy.qat_export import fake_quant_scores
    from qd_plugin.quantization import (build_qat_model, load_torchscript,
                                        quantized_engine)
    cfg = Config.fromfile(str(config_file))
    model = build_qat_model(cfg, str(checkpoint))
    size = len(build_dataset(cfg))
    inputs, samples = load_samples(cfg, size, model.data_preprocessor)
    labels = [int(s.gt_labels.item) for s in samples]
    int8_model = load_torchscript(str(int8_artifact))['model']
    with quantized_engine('x86'), torch.no_grad():
        int8 = int8_model(inputs).numpy()
    result = {}
    for name, scores in (('fakequant', fake_quant_scores(model, inputs)),
                         ('int8', int8)):
        result.update({f'{name}/{key}': value
                       for key, value in accuracies(scores, labels).items()})
    return result
