"""CPU benchmark of a recognizer across runtimes (needs the ``deploy`` extra).

Add a row by registering a builder with :func:`register_rows`.
"""
from .core import (REQUIRED_KEYS, ROW_BUILDERS, BenchCase, BenchContext,
                   markdown_table, register_rows, run_benchmark, time_cases,
                   write_report)
from .run import benchmark_model

__all__ = [
    'BenchCase', 'BenchContext', 'REQUIRED_KEYS', 'ROW_BUILDERS',
    'benchmark_model', 'markdown_table', 'register_rows', 'run_benchmark',
    'time_cases', 'write_report'
]
