"""CPU benchmark of a recognizer across runtimes (needs the ``deploy`` extra).

Add a row by registering a builder with :func:`register_rows`.
"""
from . import rows  # noqa: F401  (registers the rows)
from .accuracy import evaluate_accuracy, paired_differences
from .core import (REQUIRED_KEYS, ROW_BUILDERS, TORCH_FP32, BenchCase,
                   BenchContext, build_cases, derive_cases, markdown_table,
                   register_rows, run_benchmark, time_cases, write_report)
from .frames import FramesIn, Normalise, iter_frames, load_frames
from .int8_limit import int8_peak, limit_summary, model_macs
from .kernels import compiled_kernels, cpu_flags, environment
from .layer_profile import LayerProfile, profile_models, write_profile_report
from .nncf_ptq import NNCF_SETTINGS, quantize_nncf
from .run import benchmark_model, build_context, head_to_head
from .streams import OpenVINOStreams

__all__ = [
    'BenchCase', 'BenchContext', 'FramesIn', 'LayerProfile', 'NNCF_SETTINGS',
    'Normalise', 'OpenVINOStreams', 'REQUIRED_KEYS', 'ROW_BUILDERS',
    'TORCH_FP32', 'benchmark_model', 'build_cases', 'build_context',
    'compiled_kernels', 'cpu_flags', 'derive_cases', 'environment',
    'evaluate_accuracy', 'head_to_head', 'int8_peak', 'iter_frames',
    'limit_summary', 'load_frames', 'markdown_table', 'model_macs',
    'paired_differences', 'profile_models', 'quantize_nncf', 'register_rows',
    'run_benchmark', 'time_cases', 'write_profile_report', 'write_report'
]
