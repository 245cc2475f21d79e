"""Judge a deployed recognizer the way it is used: stream the long
recordings of a split through a sliding window and score the per-window
labels against the chunk annotations.

Reports the mean per-class accuracy of the windows that fall inside an
annotated activity, and the share of windows in unannotated time that the
model flags with a low confidence (top-1 score below ``--low-confidence``).
The split defaults to the model config's test dataset.

Example::

    python tools/eval_stream.py --model work_dirs/deploy/kd_qat \\
        --hop 8 --out work_dirs/deploy/kd_qat/stream_eval.json
"""
import argparse
import json
import os
import os.path as osp
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Streaming evaluation on the long recordings of a split')
    parser.add_argument('--model', required=True, metavar='DIR_OR_FILE',
                        help='MMDeploy work dir, .xml/.onnx, int8 '
                        'TorchScript (.pt) or checkpoint (.pth)')
    parser.add_argument('--config', help='model config (needed for a '
                        'checkpoint)')
    parser.add_argument('--backend', choices=('openvino', 'onnxruntime'))
    parser.add_argument('--ann-root', help='annotation root '
                        '(activities_3s; default: the config\'s)')
    parser.add_argument('--video-root', help='video root (default: the '
                        'config\'s)')
    parser.add_argument('--split', type=int, help='split 0-2')
    parser.add_argument('--subset', choices=('train', 'val', 'test'))
    parser.add_argument('--view', help='camera view, e.g. inner_mirror')
    parser.add_argument('--hop', type=int, help='frames between windows '
                        '(default: half a window)')
    parser.add_argument('--smooth', type=int, default=1)
    parser.add_argument('--low-confidence', type=float, default=0.5,
                        help='top-1 score below which a window is unsure '
                        '(default: %(default)s)')
    parser.add_argument('--max-recordings', type=int,
                        help='only the first so many recordings')
    parser.add_argument('--threads', type=int, default=max(
        1, (os.cpu_count() or 2) - 1), help='inference threads (default: '
        '%(default)s)')
    parser.add_argument('--out', help='write the results to this .json')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    from qd_plugin.apis import (ModelConfigError, ModelNotFoundError,
                                VideoOpenError, evaluate_recordings,
                                load_recognizer)
    try:
        if args.out and not args.out.endswith('.json'):
            raise ValueError(f'--out must name a .json file: {args.out}')
        recognizer = load_recognizer(args.model, args.config, args.backend,
                                     args.threads)
        results = evaluate_recordings(
            recognizer,
            ann_root=args.ann_root,
            video_root=args.video_root,
            split=args.split,
            subset=args.subset,
            view=args.view,
            hop=args.hop,
            smooth=args.smooth,
            low_confidence=args.low_confidence,
            max_recordings=args.max_recordings,
            show_progress=True)
    except (ModelNotFoundError, ModelConfigError, VideoOpenError,
            FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print()
    print(describe(results))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        tmp = f'{args.out}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(results, f, indent=2)
        os.replace(tmp, args.out)
        print(f'results: {osp.abspath(args.out)}')
    return 0


def describe(results: dict) -> str:
    """The results in a few lines."""
    def pct(value):
        return 'n/a' if value is None else f'{100 * value:.1f}%'

    return '\n'.join([
        f'{results["recordings"]} recordings of {results["ann_file"]}, '
        f'windows of {results["window_length"]} frames every '
        f'{results["hop"]}: {results["annotated_windows"]} inside annotated '
        f'activities, {results["unannotated_windows"]} in unannotated time, '
        f'{results["straddling_windows"]} across a boundary',
        f'mean class accuracy of annotated windows: '
        f'{pct(results["mean_class_accuracy"])} (top-1 '
        f'{pct(results["top1_accuracy"])})',
        f'unannotated windows flagged low-confidence (top-1 score < '
        f'{results["low_confidence"]}): '
        f'{pct(results["unannotated_low_confidence_share"])} (annotated '
        f'windows: {pct(results["annotated_low_confidence_share"])})',
        'real-time factor: ' + (f'{results["real_time_factor"]:.1f}x'
                                if results['real_time_factor'] else 'n/a'),
    ])


if __name__ == '__main__':
    sys.exit(main())
