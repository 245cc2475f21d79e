"""File layout of the Drive&Act release, shared by the dataset, the synthetic
generator and the tests::

    <root>/videos/<file_id>.mp4
    <root>/activities_3s/<view>/midlevel.chunks_90.split_<N>.<subset>.csv
"""
import os.path as osp

SUBSETS = ('train', 'val', 'test')
NUM_SPLITS = 3
VIDEO_DIR = 'videos'
ANNOTATION_DIR = 'activities_3s'


def split_file_name(split: int, subset: str) -> str:
    """Name of the midlevel annotation file of ``split`` and ``subset``.

    Args:
        split (int): Cross-validation split, 0 to 2.
        subset (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        str: e.g. ``'midlevel.chunks_90.split_0.train.csv'``.
    """
    return f'midlevel.chunks_90.split_{split}.{subset}.csv'


def split_file_path(ann_root: str, view: str, split: int, subset: str) -> str:
    """Path of the midlevel annotation file of one view, split and subset.

    Args:
        ann_root (str): The annotation root (``activities_3s``).
        view (str): Camera view, e.g. ``'inner_mirror'``.
        split (int): Cross-validation split, 0 to 2.
        subset (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        str: ``<ann_root>/<view>/midlevel.chunks_90.split_<N>.<subset>.csv``.
    """
    return osp.join(ann_root, view, split_file_name(split, subset))
