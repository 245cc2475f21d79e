"""Batch-1 CPU latency of one recognizer in several runtimes, side by side.

Every row of the table is a :class:`BenchCase` made by a *row builder*
registered with :func:`register_rows`. Builders get a :class:`BenchContext`
(the model, real samples, the deploy dir, the options) and return zero or more
cases, so rows are added without touching the timing loop (the shipped
rows are in :mod:`.rows`).

The rows are timed in rounds of short blocks per runtime, interleaved within
each block in a fresh random order (see :func:`time_cases`), so load from
other processes hits all of them alike, no case always runs right after the
same other one (whose left-over worker threads it would inherit), and no
timed call follows another runtime's.
"""
import json
import logging
import os
import os.path as osp
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..deploy.parity import compare
from ..deploy.runtimes import TorchRuntime, set_torch_threads

REQUIRED_KEYS = ('key', 'runtime', 'precision', 'source', 'p50_ms',
                 'p90_ms', 'size_mb')
#: The key of the reference every float row is checked against: PyTorch's
#: float model (also the key of its own row, ``torch_fp32``).
TORCH_FP32 = 'torch_fp32'


@dataclass
class BenchCase:
    """One row: a callable on the batch-1 input and what it is.

    ``key`` names the row in results and code (``'torch_int8_qat_x86'``);
    ``runtime`` and ``precision`` are its display label.
    """

    runtime: str
    precision: str
    source: str
    run: Callable[[np.ndarray], np.ndarray]
    size_mb: float
    note: str = ''
    #: The key of the row whose top-1 predictions this row is checked
    #: against: :data:`TORCH_FP32` (the float model) or another row's.
    agreement_with: str = TORCH_FP32
    #: What ``size_mb`` is the size of (the files loaded, a serialization).
    size_of: str = ''
    #: Stable identifier of the row (lower case, underscores).
    key: str = field(kw_only=True)

    @property
    def label(self) -> str:
        return f'{self.runtime} {self.precision}'


@dataclass
class BenchContext:
    """What row builders may use.

    Attributes:
        model_cfg (Config): The float recognizer's config.
        model (nn.Module): The float recognizer (eval, CPU).
        checkpoint (str, optional): Its checkpoint (None: initialised).
        inputs (np.ndarray): Real test samples (N, clips, C, T, H, W); row 0
            is the timed input.
        calibration (np.ndarray): Real samples for post-training calibration
            (from the validation set, never the test samples).
        work_dir (str): Where builders write models (PTQ, exports).
        deploy_dir (str, optional): Output of ``tools/deploy.py``.
        threads (int, optional): Threads of every runtime.
        onnx_path (str, optional): The float ONNX from the deploy dir; use
            :meth:`float_onnx`, which exports it (``export_onnx``) when
            there is none.
        qat_model (nn.Module, optional): The QAT model (MMRazor
            ``MMArchitectureQuant``) for the int8 rows, and its checkpoint
            ``qat_checkpoint``.
    """

    model_cfg: Config
    model: torch.nn.Module
    checkpoint: Optional[str]
    inputs: np.ndarray
    calibration: np.ndarray
    work_dir: str
    deploy_dir: Optional[str] = None
    threads: Optional[int] = None
    onnx_path: Optional[str] = None
    export_onnx: Optional[Callable[[], str]] = None
    qat_model: Optional[torch.nn.Module] = None
    qat_checkpoint: Optional[str] = None
    #: Build OpenVINO runtimes that collect per-layer times
    #: (``PERF_COUNT``), for :mod:`.layer_profile`.
    openvino_perf_count: bool = False
    extra: Dict = field(default_factory=dict)

    def float_onnx(self) -> str:
        """The float ONNX model, exported on first use if not given."""
        if self.onnx_path is None:
            if self.export_onnx is None:
                raise ValueError('no float ONNX model and no way to export '
                                 'one')
            self.onnx_path = self.export_onnx()
        return self.onnx_path


RowBuilder = Callable[[BenchContext], List[BenchCase]]
ROW_BUILDERS: 'OrderedDict[str, RowBuilder]' = OrderedDict()


def register_rows(name: str) -> Callable[[RowBuilder], RowBuilder]:
    """Register a row builder under ``name`` (rows appear in this order)."""

    def decorator(builder: RowBuilder) -> RowBuilder:
        if name in ROW_BUILDERS:
            raise KeyError(f'benchmark rows {name!r} registered twice')
        ROW_BUILDERS[name] = builder
        return builder

    return decorator


def build_cases(ctx: BenchContext,
                rows: Optional[Sequence[str]] = None) -> List[BenchCase]:
    """The cases of the given row builders (default: all registered), in
    order.

    Raises:
        KeyError: an unknown builder, or two cases with one key.
    """
    cases: List[BenchCase] = []
    for name in rows or ROW_BUILDERS:
        if name not in ROW_BUILDERS:
            raise KeyError(f'no benchmark rows {name!r}; registered: '
                           f'{", ".join(ROW_BUILDERS)}')
        built = ROW_BUILDERS[name](ctx)
        print_log(f'benchmark rows {name}: {len(built)}', logger='current')
        cases.extend(built)
    keys = [case.key for case in cases]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise KeyError(f'benchmark row keys used twice: {duplicates}')
    return cases


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------
def time_cases(cases: Sequence[BenchCase],
               x: np.ndarray,
               iters: int,
               warmup: int,
               settle_s: float = 0.0,
               seed: int = 0,
               block: int = 10) -> List[List[float]]:
    """Timing in blocks per runtime, interleaved within them. Returns the
    post-warm-up times (ms) per case.

    Every round times ``block`` iterations of each runtime's cases, the
    runtimes in a random order (``seed``); an iteration runs every case of
    the runtime once, in a random order, and one untimed iteration opens each
    block. So load from other processes hits every row alike, no case
    always follows the same case (on the shared test machine the row after
    PyTorch's, whose OpenMP threads linger, measured up to ~10% slower), and
    no timed call follows another runtime's: eager PyTorch right after an
    OpenVINO call measured 1.5-2.5x slower than between its own calls
    (8x32x32 clips, 2 threads), with no CPU used by idle OpenVINO threads and
    a 0.2 s pause not helping.

    ``settle_s``: untimed pause after each run. Off by default: calls run
    back to back, as a stream of clips would. After an idle pause the
    runtimes' threads have fallen asleep: with 20 ms, OpenVINO int8 measured
    1.8x and PyTorch int8 1.45x slower (16x224x224, 2 threads). PyTorch's
    OpenMP kernels, whose barriers need every thread running, are by far the
    most sensitive to competing load: on the shared 2-core machine eager
    PyTorch measured 50 ms to over 1 s for the same clip depending on load.
    """
    times: List[List[float]] = [[] for _ in cases]
    rng = np.random.default_rng(seed)
    groups: Dict[str, List[int]] = {}
    for j, case in enumerate(cases):
        groups.setdefault(case.runtime, []).append(j)
    members_of = list(groups.values())

    def run(members: List[int], timed: bool) -> None:
        for j in rng.permutation(members):
            start = time.perf_counter()
            cases[j].run(x)
            elapsed = (time.perf_counter() - start) * 1e3
            if timed:
                times[j].append(elapsed)
            if settle_s:
                time.sleep(settle_s)

    for members in members_of:
        for _ in range(warmup):
            run(members, timed=False)
    for done in range(0, iters, block):
        for g in rng.permutation(len(members_of)):
            run(members_of[g], timed=False)
            for _ in range(min(block, iters - done)):
                run(members_of[g], timed=True)
    return times


def summarize(case: BenchCase, times: Sequence[float]) -> Dict:
    times = np.asarray(times)
    mean = float(times.mean())
    return dict(
        key=case.key,
        runtime=case.runtime,
        precision=case.precision,
        source=case.source,
        p50_ms=round(float(np.percentile(times, 50)), 3),
        p90_ms=round(float(np.percentile(times, 90)), 3),
        min_ms=round(float(times.min()), 3),
        mean_ms=round(mean, 3),
        throughput_clips_per_s=round(1e3 / mean, 2),
        size_mb=round(case.size_mb, 3),
        size_of=case.size_of,
        note=case.note)


def run_benchmark(ctx: BenchContext,
                  iters: int = 50,
                  warmup: int = 5,
                  rows: Optional[Sequence[str]] = None,
                  settle_s: float = 0.0) -> List[Dict]:
    """Build the rows, check each against PyTorch fp32 on the real samples,
    time them interleaved and summarize.

    Args:
        ctx (BenchContext): Model, samples and options.
        iters (int): Timed iterations per case.
        warmup (int): Untimed iterations per case first.
        rows (list[str], optional): Builder names; default: all registered.
        settle_s (float): Untimed pause between runs, see :func:`time_cases`.

    Returns:
        list[dict]: One dict per case with ``REQUIRED_KEYS``, ``min_ms``
        (the least disturbed run: on a shared machine the best estimate of
        the undisturbed latency), ``mean_ms``, ``throughput_clips_per_s``
        (1000 / mean_ms: batch 1, one stream),
        ``top1_agreement`` and ``max_abs_prob_diff`` on the real samples
        with the row named in ``agreement_with`` (PyTorch fp32 for the float
        rows, PyTorch int8 ``x86`` for the QAT model's exports), and
        ``speedup_vs_torch_fp32`` (p50 ratio).
    """
    set_torch_threads(ctx.threads)
    cases = build_cases(ctx, rows)
    if not cases:
        raise ValueError('no benchmark rows')

    outputs = {TORCH_FP32: TorchRuntime(ctx.model).run_batched(ctx.inputs)}
    for case in cases:
        outputs[case.key] = np.concatenate(
            [case.run(ctx.inputs[i:i + 1]) for i in range(len(ctx.inputs))])
    accuracy = []
    for case in cases:
        if case.agreement_with not in outputs:
            raise KeyError(f'{case.key}: no row {case.agreement_with!r} to '
                           'compare with')
        accuracy.append(
            compare(case.runtime, outputs[case.agreement_with],
                    outputs[case.key], 0.0, probabilities=False))

    times = time_cases(cases, ctx.inputs[:1], iters, warmup, settle_s)
    results = []
    for case, case_times, parity in zip(cases, times, accuracy):
        row = summarize(case, case_times)
        row['top1_agreement'] = round(parity.top1_agreement, 4)
        row['max_abs_prob_diff'] = float(f'{parity.max_abs_prob_diff:.3g}')
        row['agreement_with'] = case.agreement_with
        results.append(row)
    for row in results:
        if row['precision'] == 'fp32' and row['max_abs_prob_diff'] > 1e-3:
            print_log(
                f"{row['runtime']} fp32 disagrees with PyTorch fp32 "
                f"(max abs prob diff {row['max_abs_prob_diff']}): was "
                f"{row['source']} exported from other weights?",
                logger='current', level=logging.WARNING)
    base = next((r for r in results if r['key'] == TORCH_FP32), None)
    for row in results:
        row['speedup_vs_torch_fp32'] = round(
            base['p50_ms'] / row['p50_ms'], 2) if base else None
        row['size_ratio_vs_torch_fp32'] = round(
            base['size_mb'] / row['size_mb'], 2) if base else None
    return results


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------
def markdown_table(rows: Sequence[Dict]) -> str:
    """One line per row; ``x torch fp32``: p50 speed-up, ``smaller``: size
    ratio, both relative to the PyTorch fp32 row."""
    header = ('| runtime | precision | p50 ms | p90 ms | min ms | clips/s | '
              'size MB | smaller | size of | x torch fp32 | '
              'top-1 agree (with) | source |')
    lines = [header, '|' + '---|' * 12]

    def ratio(value: Optional[float]) -> str:
        return '' if value is None else f'{value:.2f}'

    labels = {TORCH_FP32: 'torch fp32'}
    labels.update({r['key']: f"{r['runtime']} {r['precision']}"
                   for r in rows})

    for r in rows:
        reference = r.get('agreement_with', TORCH_FP32)
        lines.append(
            f"| {r['runtime']} | {r['precision']} | {r['p50_ms']:.2f} | "
            f"{r['p90_ms']:.2f} | {r['min_ms']:.2f} | "
            f"{r['throughput_clips_per_s']:.1f} | "
            f"{r['size_mb']:.3f} | "
            f"{ratio(r.get('size_ratio_vs_torch_fp32'))} | "
            f"{r.get('size_of', '')} | "
            f"{ratio(r.get('speedup_vs_torch_fp32'))} | "
            f"{r.get('top1_agreement', float('nan')):.0%} "
            f"({labels.get(reference, reference)}) | {r['source']} |")
    return '\n'.join(lines) + '\n'


def bar_chart(rows: Sequence[Dict], path: str, title: str = '') -> str:
    """p50 latency bars with p90 whiskers (matplotlib, Agg)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = [f"{r['runtime']}\n{r['precision']}" for r in rows]
    p50 = np.array([r['p50_ms'] for r in rows])
    p90 = np.array([r['p90_ms'] for r in rows])
    groups = {'float': 'tab:blue', 'peer': 'tab:orange', 'QAT': 'tab:green'}

    def group(row: Dict) -> str:
        return next((g for g in ('peer', 'QAT') if g in row['precision']),
                    'float')

    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rows)), 4.2))
    bars = ax.bar(
        range(len(rows)), p50, color=[groups[group(r)] for r in rows])
    for name in dict.fromkeys(group(r) for r in rows):
        ax.bar([0], [0], color=groups[name], label=name)  # legend entry
    ax.errorbar(range(len(rows)), p50, yerr=[np.zeros_like(p50), p90 - p50],
                fmt='none', ecolor='black', capsize=4, label='p90')
    for bar, value, top in zip(bars, p50, p90):
        ax.annotate(f'{value:.1f}', (bar.get_x() + bar.get_width() / 2, top),
                    ha='center', va='bottom', fontsize=8, xytext=(0, 2),
                    textcoords='offset points')
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=8)
    if p50.min() > 0 and p90.max() / p50.min() > 20:
        ax.set_yscale('log')  # runtimes orders of magnitude apart
    ax.set_ylabel('batch-1 latency, p50 ms (whisker: p90)')
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(rows: Sequence[Dict], out_json: str,
                 settings: Optional[Dict] = None) -> Dict[str, str]:
    """Write ``out_json`` and, next to it, the ``.md`` table and ``.png``
    chart. Returns the three paths."""
    stem = osp.splitext(out_json)[0]
    paths = dict(json=out_json, markdown=stem + '.md', png=stem + '.png')
    os.makedirs(osp.dirname(osp.abspath(out_json)), exist_ok=True)
    settings = dict(settings or {})
    with open(paths['json'], 'w') as f:
        json.dump(dict(settings=settings, rows=list(rows)), f, indent=2)
    title = ', '.join(f'{k}={v}' for k, v in settings.items()
                      if k in ('input_shape', 'threads', 'iters'))
    with open(paths['markdown'], 'w') as f:
        if title:
            f.write(f'Batch-1 CPU latency ({title})\n\n')
        f.write(markdown_table(rows))
    bar_chart(rows, paths['png'], title)
    return paths


def environment() -> Dict:
    """Versions and CPU facts recorded with the numbers."""
    import platform
    info = dict(
        torch=torch.__version__,
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count())
    for name in ('onnxruntime', 'openvino'):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            pass
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return info
