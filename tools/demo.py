"""Recognize the driver's activity on a video file or a live camera with a
sliding window, as the car runs it: a label and a confidence over time.

The model is anything the plugin produces: an MMDeploy work dir of
``tools/deploy.py`` (OpenVINO int8 IR, ONNX Runtime), the int8 TorchScript of
``tools/test.py`` (``int8_model.pt``) or a checkpoint with ``--config``. The
window length and frame interval come from the model's test pipeline, the
hop from ``--hop``. A reader thread decodes (and resizes and crops) the
frames while the model runs, so a camera is never throttled by the decoder;
windows a slow model cannot keep up with are skipped on a live camera.

Example::

    python tools/demo.py recording.mp4 --model work_dirs/deploy/kd_qat \\
        --hop 8 --smooth 3 --out-timeline timeline.json \\
        --out-video annotated.mp4

prints a progress bar, then the real-time factor (seconds of video processed
per wall second) and the per-window latency.
"""
import argparse
import os
import os.path as osp
import sys
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Sliding-window activity recognition on a video or a '
        'camera')
    parser.add_argument('source', metavar='VIDEO_OR_CAMERA_INDEX',
                        help='a video file, or a camera index (e.g. 0)')
    parser.add_argument('--model', required=True, metavar='DIR_OR_FILE',
                        help='MMDeploy work dir, .xml/.onnx, int8 '
                        'TorchScript (.pt) or checkpoint (.pth)')
    parser.add_argument('--config', help='model config (needed for a '
                        'checkpoint; found for the other models)')
    parser.add_argument('--backend', choices=('openvino', 'onnxruntime'),
                        help='runtime of an .onnx file or work dir')
    parser.add_argument('--out-timeline', metavar='x.json|x.csv',
                        help='write the per-window predictions')
    parser.add_argument('--out-video', metavar='annotated.mp4',
                        help='write the video with the current activity '
                        'and its confidence')
    parser.add_argument('--hop', type=int, help='frames between window '
                        'starts (default: half a window)')
    parser.add_argument('--smooth', type=int, default=1, help='windows '
                        'averaged for the shown label (default: %(default)s)')
    parser.add_argument('--topk', type=int, default=3,
                        help='classes kept per window (default: %(default)s)')
    parser.add_argument('--window', type=int, help='frames per window '
                        '(default: one test clip of the model)')
    parser.add_argument('--threads', type=int, default=max(
        1, (os.cpu_count() or 2) - 1), help='inference threads (default: '
        'one core less than the machine has, %(default)s: the reader '
        'thread decodes on the other; on 2 cores 2 inference threads '
        'measured 1.8x slower)')
    parser.add_argument('--fps', type=float, help='frame rate of a camera '
                        'that does not report it')
    parser.add_argument('--max-frames', type=int, help='stop a camera '
                        'after so many frames')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    return parser.parse_args()


def camera_or_path(source: str):
    """A camera index for digits that are not a file, else the path."""
    if source.isdigit() and not osp.exists(source):
        return int(source)
    return source


def main() -> int:
    args = parse_args()
    from qd_plugin.apis import (CameraOpenError, ModelConfigError,
                                ModelNotFoundError, VideoOpenError)
    from qd_plugin.apis.timeline_writer import check_timeline_path
    try:
        if args.out_timeline:
            check_timeline_path(args.out_timeline)
        if args.out_video and not osp.isdir(
                osp.dirname(osp.abspath(args.out_video))):
            raise ValueError('folder of the video does not exist: '
                             f'{osp.dirname(osp.abspath(args.out_video))}')
        run(args)
    except (ModelNotFoundError, ModelConfigError, VideoOpenError,
            CameraOpenError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> None:
    from mmengine.utils import ProgressBar

    from qd_plugin.apis import load_recognizer
    from qd_plugin.apis.frame_reader import FrameDroppedError
    from qd_plugin.apis.timeline_writer import write_timeline
    from qd_plugin.apis.video_annotator import VideoAnnotator

    loaded = time.perf_counter()
    recognizer = load_recognizer(args.model, args.config, args.backend,
                                 args.threads, window_length=args.window)
    load_seconds = time.perf_counter() - loaded
    stream = recognizer.open_stream(
        camera_or_path(args.source),
        hop=args.hop,
        topk=args.topk,
        smooth=args.smooth,
        keep_frames=bool(args.out_video),
        fps=args.fps,
        max_frames=args.max_frames)
    annotator = None
    windows = []
    next_frame = 0

    def annotate(until: int) -> int:
        frame = next_frame
        for frame in range(next_frame, until):
            try:
                annotator.write(stream.frame(frame))
            except FrameDroppedError:
                pass  # a live camera's frame the demo fell behind on
        stream.release_frames(until)
        return max(next_frame, until)

    with stream:
        window_info = stream.pipeline.describe()
        print(f'{recognizer.kind} model {recognizer.model_file} '
              f'(loaded in {load_seconds:.1f} s): windows of '
              f'{stream.window_length} frames (clip_len '
              f'{window_info["clip_len"]} x frame_interval '
              f'{window_info["frame_interval"]}), hop {stream.hop}, on '
              f'{stream.sources[0].name}', flush=True)
        if args.out_video:
            annotator = VideoAnnotator(args.out_video, stream.fps or 30.0)
        progress = None if args.no_progress else ProgressBar(
            stream.expected_windows or 0)
        try:
            for window in stream:
                if annotator is not None:
                    next_frame = annotate(window.end_frame)
                    annotator.update(window)
                windows.append(window)
                if progress is not None:
                    progress.update()
            if annotator is not None:
                next_frame = annotate(stream.frames_read)
        except BaseException:
            if annotator is not None:
                annotator.discard()
            raise
        summary = stream.summary()
    if progress is not None:
        print(flush=True)
    video = annotator.close() if annotator is not None else None
    if args.out_timeline:
        write_timeline(
            args.out_timeline, windows,
            dict(model=recognizer.describe(), summary=summary,
                 smooth=args.smooth))
        print(f'timeline: {args.out_timeline} ({len(windows)} windows)')
    if video:
        print(f'annotated video: {video} ({annotator.frames_written} '
              'frames)')
    print_summary(summary)


def print_summary(summary: dict) -> None:
    """Real-time factor and latencies."""
    fps = summary['fps']
    seconds = summary['video_seconds']
    print(f'frames: {summary["frames"]}'
          + (f' ({seconds:.1f} s of video at {fps:g} fps)' if seconds else '')
          + f', windows: {summary["windows"]} (skipped '
          f'{summary["skipped_windows"]}, dropped frames '
          f'{summary["dropped_frames"]}), wall time '
          f'{summary["wall_seconds"]:.2f} s')
    rtf = summary['real_time_factor']
    print('real-time factor: ' + (f'{rtf:.2f}x (seconds of video per wall '
                                  'second)' if rtf else 'n/a (no fps)'))
    for key, what in (('latency_ms', 'per-window latency'),
                      ('delay_ms', 'delay from the last frame')):
        stats = summary[key]
        if stats['p50'] is None:
            continue
        print(f'{what} (ms): p50 {stats["p50"]:.2f}, p90 '
              f'{stats["p90"]:.2f}, mean {stats["mean"]:.2f}, max '
              f'{stats["max"]:.2f}')


if __name__ == '__main__':
    sys.exit(main())
