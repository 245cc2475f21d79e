"""Which kernels OpenVINO compiled each row's compute layers to (from its
per-layer profile), and the CPU facts a figure needs: model, the
instruction-set extensions that matter for int8 (AVX2, AVX-512, VNNI, AMX)
and the runtimes' versions."""
import importlib
import os
import platform
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

#: /proc/cpuinfo flags reported (int8 and bf16 paths of oneDNN/OpenVINO).
ISA_FLAGS = ('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16',
             'amx_tile', 'amx_int8', 'amx_bf16')
#: Layer types whose kernels are reported.
COMPUTE_LAYERS = ('Convolution', 'GroupConvolution', 'FullyConnected',
                  'MatMul')
#: Packages whose versions are recorded.
VERSIONED = ('torch', 'onnx', 'onnxruntime', 'openvino', 'nncf', 'mmdeploy')


def cpu_flags(cpuinfo: str = '/proc/cpuinfo') -> List[str]:
    """The :data:`ISA_FLAGS` this CPU has (empty where unreadable)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    return [flag for flag in ISA_FLAGS if flag in flags]
    except OSError:
        pass
    return []


def cpu_model(cpuinfo: str = '/proc/cpuinfo') -> str:
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(threads: Optional[int] = None) -> Dict:
    """CPU model, ISA flags, cores, threads and runtime versions."""
    info = dict(cpu=cpu_model(), isa=cpu_flags(), cpu_count=os.cpu_count(),
                threads=threads)
    for name in VERSIONED:
        try:
            info[name] = importlib.import_module(name).__version__
        except Exception:  # not installed, or fails to import
            pass
    return info


def isa_line(env: Mapping) -> str:
    """``Intel Xeon ..., ISA avx2 avx512f ..., 2 threads``."""
    parts = [env.get('cpu', '?'),
             'ISA ' + (' '.join(env.get('isa') or []) or 'unknown')]
    if env.get('threads'):
        parts.append(f"{env['threads']} threads")
    return ', '.join(parts)


def _openvino_runtime(run):
    from ..deploy.runtimes import OpenVINORuntime
    while not isinstance(run, OpenVINORuntime):
        run = getattr(run, 'runtime', None)
        if run is None:
            return None
    return run


def compiled_kernels(path: str, x: np.ndarray,
                     threads: Optional[int] = None) -> Dict[str, int]:
    """Kernel (``exec_type``) -> number of compute layers OpenVINO runs
    with it, for the model at ``path`` on input ``x`` (a separate compiled
    model with ``PERF_COUNT``)."""
    from ..deploy.runtimes import OpenVINORuntime
    runtime = OpenVINORuntime(path, threads, perf_count=True)
    runtime(x)
    counts = Counter(info.exec_type for info in runtime.profiling_info()
                     if info.node_type.startswith(COMPUTE_LAYERS))
    return dict(sorted(counts.items()))


def openvino_kernels(cases: Sequence, samples: Mapping[str, np.ndarray],
                     threads: Optional[int] = None) -> Dict[str, Dict]:
    """:func:`compiled_kernels` of every batch-1 OpenVINO row measured on
    its own (keyed by row)."""
    kernels = {}
    for case in cases:
        runtime = _openvino_runtime(case.run)
        if runtime is None or case.batch != 1 or case.accuracy_of:
            continue
        x = samples[case.input][:1]
        if case.input == 'frames' and getattr(case.run, 'preprocess',
                                              None) is not None:
            x = case.run.preprocess(x)
        kernels[case.key] = compiled_kernels(runtime.files[0], x, threads)
    return kernels
