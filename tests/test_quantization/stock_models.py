"""MMAction2 1.1.0's own recognizers, from its configs, at tiny sizes.

Each entry is the model of a stock config (loaded with
``mmengine.hub.get_config('mmaction::...')``) with the few changes that make
it small and offline: no pretrained weights, 5 classes, narrower ResNets
(``base_channels``; the depth, blocks and every layer type are the stock
ones) and the input of one sample.
"""
import copy
from typing import Dict, Tuple

import torch
from mmaction.structures import ActionDataSample
from mmengine.config import ConfigDict
from mmengine.hub import get_config
from torch.nn.modules.batchnorm import _BatchNorm

NUM_CLASSES = 5

#: name -> (stock config, changes (dotted keys of the model), sample shape).
STOCK_MODELS: Dict[str, Tuple[str, Dict, Tuple[int, ...]]] = {
    'x3d-s': ('recognition/x3d/x3d_s_13x6x1_facebook-kinetics400-rgb.py', {},
              (1, 3, 4, 32, 32)),
    'c3d': ('recognition/c3d/'
            'c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py',
            {'backbone.out_dim': 512}, (1, 3, 16, 16, 16)),
    'r2plus1d-r34': ('recognition/r2plus1d/'
                     'r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py',
                     {'backbone.base_channels': 16,
                      'cls_head.in_channels': 128}, (1, 3, 8, 32, 32)),
    'i3d-r50': ('recognition/i3d/'
                'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_'
                'kinetics400-rgb.py',
                {'backbone.pretrained2d': False,
                 'backbone.base_channels': 16,
                 'cls_head.in_channels': 512}, (1, 3, 8, 32, 32)),
    'slowfast-r50': ('recognition/slowfast/'
                     'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py',
                     {'backbone.slow_pathway.base_channels': 16,
                      'backbone.fast_pathway.base_channels': 2,
                      'cls_head.in_channels': 576}, (1, 3, 16, 32, 32)),
    'tsm-mobilenetv2': ('recognition/tsm/'
                        'tsm_imagenet-pretrained-mobilenetv2_8xb16-1x1x8-'
                        '100e_kinetics400-rgb.py',
                        {'backbone.pretrained2d': False,
                         'backbone.widen_factor': 0.5}, (8, 3, 32, 32)),
    'tsn-r50': ('recognition/tsn/'
                'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_'
                'kinetics400-rgb.py', {}, (3, 3, 32, 32)),
}


def stock_model_cfg(name: str) -> ConfigDict:
    """The model config of a stock MMAction2 config, made tiny."""
    path, changes, _ = STOCK_MODELS[name]
    cfg = get_config(f'mmaction::{path}')
    cfg.merge_from_dict({
        'model.backbone.pretrained': None,
        'model.cls_head.num_classes': NUM_CLASSES,
        **{f'model.{key}': value
           for key, value in changes.items()}
    })
    return copy.deepcopy(cfg.model)


def input_shape(name: str, batch: int = 1) -> Tuple[int, ...]:
    """(N, clips or segments, C, [T,] H, W) of the model's inputs."""
    return (batch, ) + STOCK_MODELS[name][2]


def clips(name: str, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """Preprocessed (normalized) inputs."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(input_shape(name, batch), generator=generator)


def data_batch(name: str, batch: int = 2, seed: int = 0) -> Dict:
    """A batch as the dataloader collates it: uint8 inputs and labels."""
    generator = torch.Generator().manual_seed(seed)
    shape = STOCK_MODELS[name][2]
    inputs = [
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
        for _ in range(batch)
    ]
    samples = [
        ActionDataSample().set_gt_labels(i % NUM_CLASSES)
        for i in range(batch)
    ]
    return dict(inputs=inputs, data_samples=samples)


#: The residual blocks of MMAction2's ResNets and the branch whose last BN
#: ``zero_init_residual`` zero-initializes.
RESIDUAL_BRANCH_ENDS = {
    'Bottleneck3d': 'conv3',
    'BasicBlock3d': 'conv2',
    'Bottleneck': 'conv3',
    'BasicBlock': 'conv2',
}


def _residual_branch_bns(recognizer: torch.nn.Module):
    for module in recognizer.modules():
        end = RESIDUAL_BRANCH_ENDS.get(type(module).__name__)
        bn = getattr(getattr(module, end, None), 'bn', None) if end else None
        if isinstance(bn, _BatchNorm):
            yield bn


def trained_like(recognizer: torch.nn.Module, name: str,
                 seed: int = 0) -> torch.nn.Module:
    """Give a randomly initialized recognizer the BN state training leaves.

    BN weights in [0.5, 1.5], those ending a residual branch in [0.1, 0.3]
    (MMAction2 zero-initializes them; QAT's Conv+BN fusion divides by them,
    and at full weight a random deep ResNet is chaotic: the sum of its 16
    residual branches amplifies int8 rounding, one step per layer, into
    different top-1 classes), statistics of a few random batches; then eval
    mode. The QAT model shares these modules, so this works on
    ``qat_model.architecture`` too.
    """
    generator = torch.Generator().manual_seed(seed)
    residual_ends = set(_residual_branch_bns(recognizer))
    for module in recognizer.modules():
        if isinstance(module, _BatchNorm):
            low, high = (0.1, 0.3) if module in residual_ends else (0.5, 1.5)
            with torch.no_grad():
                module.weight.uniform_(low, high, generator=generator)
                module.bias.uniform_(-0.1, 0.1, generator=generator)
            module.reset_running_stats()
            module.momentum = None  # cumulative average
    recognizer.train()
    with torch.no_grad():
        recognizer(clips(name, 4, seed=100), None, 'tensor')
    for module in recognizer.modules():
        if isinstance(module, _BatchNorm):
            module.momentum = 0.1
    return recognizer.eval()
