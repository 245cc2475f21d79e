"""CPU benchmark of a recognizer across runtimes (needs the ``deploy`` extra).

Add a row by registering a builder with :func:`register_rows`.
"""
from . import rows  # noqa: F401  (registers the rows)
from .core import (REQUIRED_KEYS, ROW_BUILDERS, TORCH_FP32, BenchCase,
                   BenchContext, build_cases, markdown_table, register_rows,
                   run_benchmark, time_cases, write_report)
from .layer_profile import LayerProfile, profile_models, write_profile_report
from .run import benchmark_model, build_context

__all__ = [
    'BenchCase', 'BenchContext', 'LayerProfile', 'REQUIRED_KEYS',
    'ROW_BUILDERS', 'TORCH_FP32', 'benchmark_model', 'build_cases',
    'build_context', 'markdown_table',
    'profile_models', 'register_rows', 'run_benchmark', 'time_cases',
    'write_profile_report', 'write_report'
]
