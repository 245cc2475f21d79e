"""Convert released pretrained weights into checkpoints our configs load.

Example::

    python tools/convert_ckpt.py efficient3dcnn \
        kinetics_mobilenet_0.5x_RGB_16_best.pth \
        checkpoints/mbv3d-0.5x_kinetics600.pth --drop-classifier
"""
import argparse
import os
import os.path as osp

import torch

from qd_plugin.converters import (convert_efficient3dcnn_mobilenet,
                                  convert_kinetics_i3d_pytorch)
from qd_plugin.utils.checkpoint import (describe_state_dict, read_checkpoint,
                                        state_dict_of)

CONVERTERS = {
    'efficient3dcnn': convert_efficient3dcnn_mobilenet,
    'kinetics_i3d_pytorch': convert_kinetics_i3d_pytorch,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('format', choices=sorted(CONVERTERS),
                        help='layout of the source checkpoint')
    parser.add_argument('src', help='released checkpoint file')
    parser.add_argument('dst', help='converted checkpoint to write')
    parser.add_argument('--drop-classifier', action='store_true',
                        help='drop the classifier (e.g. to fine-tune on '
                        'Drive&Act from a Kinetics checkpoint)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace DST if it exists')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if osp.exists(args.dst) and not args.overwrite:
        raise SystemExit(f'{args.dst} exists; pass --overwrite to replace it')
    checkpoint = read_checkpoint(args.src, 'released checkpoint')
    try:
        state_dict = CONVERTERS[args.format](
            checkpoint, keep_classifier=not args.drop_classifier)
    except (KeyError, ValueError) as error:
        holds = describe_state_dict(state_dict_of(checkpoint))
        raise SystemExit(f'{args.src} is not in the {args.format} layout: '
                         f'it holds {holds} ({error})') from None
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(converted_from=args.format, source=osp.basename(args.src))),
        args.dst)
    print(f'wrote {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
