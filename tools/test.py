"""Test a checkpoint and write the metrics to ``<work_dir>/test_metrics.json``.

The command line is MMAction2's ``tools/test.py``.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS

import qd_plugin  # noqa: F401  (registers the plugin, applies compat)
from qd_plugin.utils import load_config, validate_config
from qd_plugin.utils.checkpoint import load_checkpoint_strict, read_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save logs and test_metrics.json')
    parser.add_argument(
        '--dump', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=1, or '
        'top-level variables of the config file, e.g. data_root=X')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    read_checkpoint(args.checkpoint)  # a missing or broken file: no Runner
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must name a .pkl file, got {args.dump}')
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = [
            *evaluators, dict(type='DumpResults', out_file_path=args.dump)
        ]
    cfg.launcher = args.launcher
    for key in ('float_checkpoint', 'teacher_ckpt'):
        # The checkpoint tested holds the whole QAT / distillation model.
        if cfg.model.get(key):
            cfg.model[key] = None
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    # Loaded strictly in main(): `load_from` would accept a checkpoint of
    # another model with a warning and test random weights.
    cfg.load_from, cfg.resume = None, False
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(load_config(args.config, args.cfg_options), args)
    validate_config(cfg)
    cfg.setdefault('runner_type', 'CheckpointSafeRunner')
    runner = RUNNERS.build(cfg)
    load_checkpoint_strict(runner.model, args.checkpoint)
    metrics = runner.test()
    if runner.rank == 0:
        path = osp.join(cfg.work_dir, 'test_metrics.json')
        with open(path, 'w') as f:
            json.dump(metrics, f, indent=2)
        runner.logger.info(f'test metrics written to {path}')


if __name__ == '__main__':
    main()
