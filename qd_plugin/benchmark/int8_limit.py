"""The limit: this CPU's achievable int8 throughput, and a model's share of
it.

The achievable throughput is measured, not taken from a data sheet: one
large int8 MatMul (u8 activations x s8 weights, what OpenVINO compiles a
quantized FullyConnected to: AMX, VNNI or AVX2 kernels as the CPU has them)
with the benchmark's threads. A model's effective throughput is its
multiply-accumulates per clip over its latency; the ratio says how much of
the CPU's int8 compute the model gets (1.0: every cycle in large int8 GEMMs).
"""
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn


def model_macs(model: nn.Module, inputs: torch.Tensor) -> int:
    """Multiply-accumulates of a forward pass: every Conv (1d/2d/3d) and
    Linear, counted on their output shapes (``extract_feat`` and the head
    for a recognizer)."""
    total = [0]

    def count(module, args, output):
        if isinstance(module, nn.Linear):
            total[0] += output.numel() * module.in_features
        else:
            kernel = int(np.prod(module.kernel_size))
            total[0] += output.numel() * kernel * (module.in_channels //
                                                   module.groups)

    handles = [
        m.register_forward_hook(count) for m in model.modules()
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            if hasattr(model, 'extract_feat'):
                feats, kwargs = model.extract_feat(inputs, test_mode=True)
                model.cls_head(feats, **kwargs)
            else:
                model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return int(total[0])


def int8_matmul_model(m: int, k: int, n: int):
    """An OpenVINO model: FakeQuantize(u8) of a float (m, k) input times
    dequantized int8 (n, k) weights (transposed)."""
    import openvino as ov
    import openvino.opset13 as ops
    rng = np.random.default_rng(0)
    x = ops.parameter([m, k], ov.Type.f32, name='x')
    low, high = ops.constant(np.float32(0)), ops.constant(np.float32(4))
    xq = ops.fake_quantize(x, low, high, low, high, 256)
    weights = ops.constant(
        rng.integers(-127, 128, (n, k), dtype=np.int8))
    w = ops.multiply(ops.convert(weights, ov.Type.f32),
                     ops.constant(np.full((n, 1), 0.01, np.float32)))
    y = ops.matmul(xq, w, False, True)
    return ov.Model([y], [x], 'int8_matmul')


def int8_peak(threads: Optional[int] = None,
              m: int = 512,
              k: int = 4096,
              n: int = 4096,
              iters: int = 10) -> Dict:
    """The achievable int8 throughput: p50 of a large int8 MatMul kernel in
    OpenVINO (its per-layer time; ``threads`` threads, latency hint, one
    stream).

    Returns:
        dict: ``gmacs_per_s``, ``p50_ms``, ``shape`` and the ``kernel``
        OpenVINO chose.
    """
    import openvino as ov
    config = {'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': '1',
              'INFERENCE_PRECISION_HINT': 'f32', 'PERF_COUNT': 'YES',
              'ENABLE_CPU_PINNING': 'NO'}
    if threads:
        config['INFERENCE_NUM_THREADS'] = str(threads)
    compiled = ov.Core().compile_model(int8_matmul_model(m, k, n), 'CPU',
                                       config)
    request = compiled.create_infer_request()
    x = np.random.default_rng(1).uniform(0, 4, (m, k)).astype(np.float32)
    for _ in range(3):
        request.infer({0: x})
    times, kernel = [], ''
    for _ in range(iters):
        request.infer({0: x})
        # The MatMul kernel alone, not the quantization of its input.
        matmul = next(info for info in request.profiling_info
                      if info.node_type.startswith(('FullyConnected',
                                                    'MatMul')))
        times.append(matmul.real_time.total_seconds())
        kernel = matmul.exec_type
    p50 = float(np.median(times))
    return dict(gmacs_per_s=round(m * k * n / p50 / 1e9, 1),
                p50_ms=round(p50 * 1e3, 3), shape=[m, k, n], kernel=kernel,
                threads=threads)


def limit_summary(macs: int, peak: Dict, rows: Dict[str, float]) -> Dict:
    """Each row's effective int8 throughput (``macs`` / its p50) as a share
    of ``peak``.

    Args:
        macs (int): Multiply-accumulates per clip.
        peak (dict): :func:`int8_peak`.
        rows (dict): Row key -> p50 ms (batch 1).

    Returns:
        dict: ``macs``, ``peak``, ``rows`` {key: {gmacs_per_s, of_peak,
        limit_ms}} (``limit_ms``: the latency at the peak) and a one-line
        ``summary``.
    """
    limit_ms = macs / (peak['gmacs_per_s'] * 1e9) * 1e3
    shares = {
        key: dict(gmacs_per_s=round(macs / (p50 / 1e3) / 1e9, 1),
                  of_peak=round(limit_ms / p50, 4),
                  limit_ms=round(limit_ms, 3))
        for key, p50 in rows.items()
    }
    summary = (f"int8 limit: {peak['gmacs_per_s']} GMAC/s measured "
               f"({peak['kernel']} MatMul {'x'.join(map(str, peak['shape']))}"
               f", {peak.get('threads')} threads); the model has "
               f'{macs / 1e9:.3f} GMAC per clip, {limit_ms:.3f} ms at that '
               'peak; ' + '; '.join(
                   f"{key} {v['gmacs_per_s']} GMAC/s = {v['of_peak']:.1%} of "
                   'it' for key, v in shares.items()))
    return dict(macs=macs, peak=peak, rows=shares, summary=summary)
