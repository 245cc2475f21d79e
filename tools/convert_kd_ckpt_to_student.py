"""Extract the student recognizer from a distillation checkpoint.

Example::

    python tools/convert_kd_ckpt_to_student.py \
        work_dirs/kd_mbv3d/epoch_200.pth checkpoints/mbv3d_kd.pth
    python tools/test.py configs/mbv3d_driveact.py checkpoints/mbv3d_kd.pth
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict

import torch

import qd_plugin  # noqa: F401  (allow-lists the Runner's checkpoint globals)
from qd_plugin.utils.checkpoint import (describe_state_dict, read_checkpoint,
                                        state_dict_of)

STUDENT_PREFIX = 'architecture.'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'checkpoint', help='checkpoint of a SingleTeacherDistill model')
    parser.add_argument('out', help='student checkpoint to write')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace OUT if it exists')
    return parser.parse_args()


def student_state_dict(state_dict: Dict[str, torch.Tensor]) -> OrderedDict:
    """Keep the student's tensors, without their ``architecture.`` prefix.

    Args:
        state_dict (dict[str, torch.Tensor]): State dict of a
            ``SingleTeacherDistill`` model.

    Returns:
        OrderedDict: The student recognizer's state dict. The teacher's and
        the distiller's tensors are dropped.

    Raises:
        KeyError: No key carries the student prefix.
    """
    student = OrderedDict(
        (key[len(STUDENT_PREFIX):], value)
        for key, value in state_dict.items() if key.startswith(STUDENT_PREFIX))
    if not student:
        raise KeyError(f'no "{STUDENT_PREFIX}*" key: not a checkpoint of a '
                       'distillation algorithm')
    return student


def convert(checkpoint: Dict) -> Dict:
    """A student-only checkpoint from a distillation checkpoint.

    Args:
        checkpoint (dict): Checkpoint saved by the Runner while training a
            ``SingleTeacherDistill`` model (or a bare state dict).

    Returns:
        dict: ``state_dict`` of the student and the source's ``meta``; the
        optimizer, scheduler and message hub states are dropped.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    converted = dict(state_dict=student_state_dict(state_dict))
    if 'meta' in checkpoint:
        converted['meta'] = checkpoint['meta']
    return converted


def main() -> None:
    args = parse_args()
    if osp.exists(args.out) and not args.overwrite:
        raise SystemExit(f'{args.out} exists; pass --overwrite to replace it')
    checkpoint = read_checkpoint(args.checkpoint, 'distillation checkpoint')
    try:
        converted = convert(checkpoint)
    except KeyError as error:
        holds = describe_state_dict(state_dict_of(checkpoint))
        raise SystemExit(f'{args.checkpoint}: it holds {holds}: '
                         f'{error.args[0]}') from None
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(converted, args.out)
    print(f'wrote {len(converted["state_dict"])} student tensors to '
          f'{args.out}')


if __name__ == '__main__':
    main()
