"""Frames-in latency when the PTQ peer does its preprocessing inside the
OpenVINO graph, as OpenVINO's documentation advises, instead of in numpy.

``tools/benchmark.py`` times the float-input peers behind numpy's uint8 ->
float32, normalisation and layout. An OpenVINO user can instead prepend
those steps to the graph (what ``PrePostProcessor`` builds: Convert,
Subtract, Multiply, Transpose), which OpenVINO fuses into the first layers.
This script times, side by side in one run (interleaved blocks), from the
same decoded uint8 frames (1, T, H, W, 3):

- the NNCF PTQ peer (MIXED preset, full bias correction) behind numpy;
- the same peer with the preprocessing in its graph;
- our uint8-input export (``tools/deploy.py --uint8-input NTHWC``);
- and the peer from the normalised float tensor, for reference.

Calibration here only decides the peer's kernels, not its accuracy
(``tools/benchmark.py`` measures that), so a few clips of random frames do.

Example::

    python benchmarks/frames_in_openvino_preprocessing.py \\
        work_dirs/deploy/mbv3d_224/end2end.onnx \\
        work_dirs/deploy/kd_qat_uint8_nthwc/end2end.xml \\
        --out work_dirs/benchmark/frames_in_ppp.json
"""
import argparse
import json
import os
import os.path as osp
import tempfile
import time

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('float_model', help='float .onnx/.xml, input '
                        '(1, 1, 3, T, H, W) normalised')
    parser.add_argument('uint8_model', help='our uint8-input export .xml, '
                        'input (1, T, H, W, 3) uint8')
    parser.add_argument('--mean', type=float, default=127.5)
    parser.add_argument('--std', type=float, default=127.5)
    parser.add_argument('--num-calibration', type=int, default=16)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--iters', type=int, default=60)
    parser.add_argument('--block', type=int, default=10)
    parser.add_argument('--out', help='results .json')
    return parser.parse_args()


def with_graph_preprocessing(model, mean: float, std: float):
    """``model`` (float input N, 1, C, T, H, W) behind uint8 frames
    (N, T, H, W, C): Convert, Subtract, Multiply, Transpose, Reshape."""
    import openvino as ov
    import openvino.opset13 as ops
    parameter = model.get_parameters()[0]
    n, v, c, t, h, w = parameter.get_partial_shape().to_shape()
    frames = ops.parameter([n, t, h, w, c], ov.Type.u8, name='frames')
    x = ops.convert(frames, ov.Type.f32)
    x = ops.subtract(x, ops.constant(np.float32(mean)))
    x = ops.multiply(x, ops.constant(np.float32(1 / std)))
    x = ops.transpose(x, ops.constant(np.array([0, 4, 1, 2, 3], np.int64)))
    x = ops.reshape(x, ops.constant(np.array([n, v, c, t, h, w], np.int64)),
                    special_zero=False)
    for target in list(parameter.output(0).get_target_inputs()):
        target.replace_source_output(x.output(0))
    return ov.Model(model.get_results(), [frames], 'peer_with_preprocessing')


def compile_latency(core, model, threads: int):
    compiled = core.compile_model(
        model, 'CPU', {
            'PERFORMANCE_HINT': 'LATENCY',
            'NUM_STREAMS': '1',
            'INFERENCE_NUM_THREADS': str(threads),
        })
    request = compiled.create_infer_request()

    def run(x):
        return request.infer([x])[0]

    return run


def main():
    args = parse_args()
    import openvino as ov

    from qd_plugin.benchmark.frames import Normalise
    from qd_plugin.benchmark.kernels import environment, isa_line
    from qd_plugin.benchmark.nncf_ptq import quantize_nncf
    core = ov.Core()
    float_model = core.read_model(args.float_model)
    n, v, c, t, h, w = float_model.get_parameters()[0].get_partial_shape(
    ).to_shape()
    rng = np.random.default_rng(0)
    normalise = Normalise([args.mean] * c, [args.std] * c)
    calibration = normalise(
        rng.integers(0, 256, (args.num_calibration, t, h, w, c), np.uint8))
    with tempfile.TemporaryDirectory() as tmp:
        xml = quantize_nncf(args.float_model, osp.join(tmp, 'nncf.xml'),
                            calibration, 'mixed')
        peer = core.read_model(xml)
        peer_graph = with_graph_preprocessing(
            core.read_model(xml), args.mean, args.std)
        runs = {
            'nncf_ptq_mixed_numpy_frames': (
                compile_latency(core, peer, args.threads), 'numpy'),
            'nncf_ptq_mixed_graph_frames': (
                compile_latency(core, peer_graph, args.threads), None),
            'ours_uint8_nthwc_frames': (
                compile_latency(core, core.read_model(args.uint8_model),
                                args.threads), None),
            'nncf_ptq_mixed_tensor': (
                compile_latency(core, peer, args.threads), 'tensor'),
        }
    frames = rng.integers(0, 256, (1, t, h, w, c), np.uint8)
    tensor = normalise(frames)
    times = {key: [] for key in runs}

    def call(key):
        run, prep = runs[key]
        if prep == 'numpy':
            return run(normalise(frames))
        return run(tensor if prep == 'tensor' else frames)

    for key in runs:  # warm-up
        for _ in range(3):
            call(key)
    # The two frames-in forms of the peer must give the same scores.
    np.testing.assert_allclose(
        call('nncf_ptq_mixed_graph_frames'),
        call('nncf_ptq_mixed_numpy_frames'), atol=1e-3)
    for _ in range(max(1, args.iters // args.block)):
        for key in runs:
            for _ in range(args.block):
                start = time.perf_counter()
                call(key)
                times[key].append((time.perf_counter() - start) * 1e3)
    env = environment(args.threads)
    ours = float(np.median(times['ours_uint8_nthwc_frames']))
    rows = []
    print(isa_line(env))
    print(f'input 1x{t}x{h}x{w}x{c} uint8 frames, {args.threads} threads, '
          f'{len(times["ours_uint8_nthwc_frames"])} calls per row, '
          f'load average {os.getloadavg()[0]:.2f}')
    print('| row | p50 ms | min ms | ours / row |')
    print('|---|---|---|---|')
    for key, values in times.items():
        p50 = float(np.median(values))
        rows.append(dict(key=key, p50_ms=p50, min_ms=float(np.min(values)),
                         ours_over_row=ours / p50))
        print(f'| `{key}` | {p50:.2f} | {np.min(values):.2f} | '
              f'{ours / p50:.2f} |')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(environment=env, rows=rows), f, indent=2)


if __name__ == '__main__':
    main()
