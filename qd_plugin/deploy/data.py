"""Real samples of a config's dataset, preprocessed as the recognizer sees
them."""
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope


def build_dataset(model_cfg: Config, loader: str = 'test_dataloader'):
    """Build the dataset of ``model_cfg[loader]`` in the config's scope."""
    import qd_plugin  # noqa: F401  (registers DriveActDataset & co.)
    from mmaction.registry import DATASETS
    init_default_scope(model_cfg.get('default_scope', 'mmaction'))
    return DATASETS.build(model_cfg[loader].dataset)


def spread_indices(length: int, num: int) -> List[int]:
    """``num`` indices spread evenly over ``range(length)`` (all if fewer)."""
    if length == 0:
        raise ValueError('the dataset is empty')
    num = min(num, length)
    return sorted({int(i) for i in np.linspace(0, length - 1, num)})


def load_samples(model_cfg: Config,
                 num_samples: int,
                 data_preprocessor: torch.nn.Module,
                 loader: str = 'test_dataloader',
                 indices: Optional[List[int]] = None
                 ) -> Tuple[torch.Tensor, list]:
    """A batch of real samples through the test pipeline and the model's
    data preprocessor (normalisation, stacking).

    Args:
        model_cfg (Config): The recognizer's config.
        num_samples (int): How many samples, spread evenly over the dataset.
        data_preprocessor (nn.Module): The recognizer's
            ``data_preprocessor``.
        loader (str): Which dataloader's dataset. Defaults to the test one.
        indices (list[int], optional): Take these samples instead.

    Returns:
        tuple: ``inputs`` (N, num_clips, C, T, H, W) float tensor, the exact
        input of the exported graph, and the N ``ActionDataSample``.
    """
    dataset = build_dataset(model_cfg, loader)
    if indices is None:
        indices = spread_indices(len(dataset), num_samples)
    data = pseudo_collate([dataset[i] for i in indices])
    with torch.no_grad():
        data = data_preprocessor(data, False)
    return data['inputs'], data['data_samples']
