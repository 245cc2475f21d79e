"""``report.md`` of the compress-and-evaluate flow: one table and plots."""
import glob
import json
import math
import os.path as osp
import shutil
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
import matplotlib.ticker

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

METRIC = 'acc/mean_class_accuracy'


def _fmt(value: Optional[float], spec: str = '.2f') -> str:
    return '–' if value is None else format(value, spec)


def _pct(value: Optional[float]) -> str:
    return '–' if value is None else f'{100 * value:.1f}'


def results_table(models: Sequence) -> str:
    """The Markdown table of every model's accuracy, size and latency."""
    reference = next((m.latency_ms for m in models if m.name == 'float'),
                     None)
    lines = [
        '| model | precision | val mean class acc (%) | test mean class acc '
        '(%) | test top-1 (%) | size (MB) | CPU latency (ms) | speed-up vs '
        'float |', '|---|---|---|---|---|---|---|---|'
    ]
    for m in models:
        speedup = (reference / m.latency_ms
                   if reference and m.latency_ms else None)
        lines.append(
            f'| {m.title} | {m.precision} | '
            f'{_pct(m.metrics.get("val", {}).get(METRIC))} | '
            f'{_pct(m.metrics.get("test", {}).get(METRIC))} | '
            f'{_pct(m.metrics.get("test", {}).get("acc/top1"))} | '
            f'{_fmt(m.size_mb)} | {_fmt(m.latency_ms)} | '
            f'{_fmt(speedup, ".1f")}{"x" if speedup else ""} |')
    return '\n'.join(lines)


def chance_level(per_class: Dict[str, Dict]) -> Tuple[float, float]:
    """Mean class accuracy of uniform guessing on a split, and its spread.

    Args:
        per_class (dict): ``{class: {'accuracy': a, 'support': n}}`` of the
            split, as ``ClassAccuracyMetric`` writes it.

    Returns:
        tuple[float, float]: The expected mean class accuracy of guessing
        and its standard deviation over the split's clips.
    """
    num_classes = len(per_class)
    p = 1 / num_classes
    variance = sum(p * (1 - p) / c['support']
                   for c in per_class.values()) / num_classes**2
    return p, math.sqrt(variance)


def one_clip_steps(per_class: Dict[str, Dict]) -> Tuple[float, float]:
    """The smallest and largest change of the mean class accuracy that one
    clip of the split makes."""
    supports = [c['support'] for c in per_class.values()]
    return (1 / (len(supports) * max(supports)),
            1 / (len(supports) * min(supports)))


def per_class_file(work_dir: str, model) -> Optional[str]:
    """The test run's per-class accuracies of ``model`` (int8 for QAT)."""
    sub = 'int8/' if model.precision == 'int8' else ''
    found = sorted(
        glob.glob(
            osp.join(work_dir, model.name, 'eval_test', '*',
                     f'{sub}per_class_accuracy.json')))
    return found[-1] if found else None


def plot_accuracy_vs_latency(models: Sequence, path: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 5))
    for m in models:
        accuracy = m.metrics.get('test', {}).get(METRIC)
        if accuracy is None or m.latency_ms is None:
            continue
        ax.scatter(m.latency_ms, 100 * accuracy, s=60 + 40 * (m.size_mb or 0),
                   alpha=0.6, label=f'{m.title} ({_fmt(m.size_mb)} MB)')
    ax.set_xscale('log')
    for axis_formatter in (ax.xaxis.set_major_formatter,
                           ax.xaxis.set_minor_formatter):
        axis_formatter(matplotlib.ticker.FormatStrFormatter('%g'))
    ax.set_xlabel('CPU latency, batch 1 (ms, log scale)')
    ax.set_ylabel('test mean class accuracy (%)')
    ax.set_title('Accuracy vs latency (marker area ~ model size)')
    legend = ax.legend(fontsize=7, loc='best')
    for handle in legend.legend_handles:
        handle.set_sizes([40])
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_per_class(per_class: Dict[str, Dict], path: str) -> None:
    classes = sorted({c for accs in per_class.values() for c in accs})
    width = 0.8 / max(1, len(per_class))
    fig, ax = plt.subplots(figsize=(max(7, 0.6 * len(classes) + 3), 5))
    for i, (title, accs) in enumerate(per_class.items()):
        ax.bar([c + i * width for c in range(len(classes))],
               [100 * accs.get(name, {}).get('accuracy', 0) for name in classes],
               width, label=title)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(classes))], classes,
                  rotation=60, ha='right', fontsize=7)
    ax.set_ylabel('test accuracy (%)')
    ax.set_title('Per-class accuracy (test split)')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(models: List, work_dir: str, settings: Dict,
                 benchmark: Optional[str] = None) -> str:
    """Write ``report.md`` and its plots to ``work_dir``.

    Args:
        models (list): The flow's ``ModelResult`` objects, in table order.
        work_dir (str): The flow's work dir.
        settings (dict): How the flow ran (data, quick settings, threads).
        benchmark (str, optional): The final model's benchmark JSON; its
            table (every runtime) is included when it exists.

    Returns:
        str: Path of ``report.md``.
    """
    final = models[-1]
    plot_accuracy_vs_latency(models, osp.join(work_dir,
                                              'accuracy_vs_latency.png'))
    per_class = {}
    for m in models:
        path = per_class_file(work_dir, m)
        if path:
            with open(path) as f:
                per_class[m.title] = json.load(f)
    plot_per_class(per_class, osp.join(work_dir, 'per_class_accuracy.png'))
    final_per_class = per_class_file(work_dir, final)
    confusion = 'confusion_matrix_final.png'
    if final_per_class:
        shutil.copy(
            osp.join(osp.dirname(final_per_class), 'confusion_matrix.png'),
            osp.join(work_dir, confusion))

    by_name = {m.name: m for m in models}
    lines = [
        '# Quantized Distillation: compress-and-evaluate report', '',
        f'Generated {datetime.now():%Y-%m-%d %H:%M} by `tools/run_flow.py`.',
        '', '```json', json.dumps(settings, indent=2), '```', '',
        '## Results', '',
        'Mean class accuracy is the mean per-class accuracy over the ground-'
        'truth classes (the Drive&Act metric). int8 rows are the true int8 '
        'models converted from the QAT checkpoints (PyTorch `x86` engine); '
        'sizes are the float state dict or the int8 TorchScript artifact; '
        'latency is batch 1 on the CPU, p50, measured by `tools/benchmark.py` '
        'at the input shape the flow trained with (see the settings; README '
        'has the 16x224x224 figures). Speed-up is against the float student.',
        '', results_table(models), ''
    ]
    at_chance = []
    if final.title in per_class:
        split = per_class[final.title]
        chance, spread = chance_level(split)
        small, large = one_clip_steps(split)
        clips = sum(c['support'] for c in split.values())
        lines += [
            f'Chance level: {100 * chance:.1f}% mean class accuracy '
            f'({len(split)} classes in the test split, {clips} clips). '
            f'Guessing scores {100 * chance:.1f} ± {100 * spread:.1f} '
            f'(1 sd) on this split, and one clip moves the mean class '
            f'accuracy by {100 * small:.1f}-{100 * large:.1f} points.', ''
        ]
        at_chance = [
            m for m in models
            if m.metrics.get('test', {}).get(METRIC, 1) < chance + 2 * spread
        ]
        if at_chance:
            lines += [
                f'Within 2 sd of chance on test (below '
                f'{100 * (chance + 2 * spread):.1f}%): '
                f'{", ".join(m.title for m in at_chance)}. Their accuracy '
                'does not compare methods.', ''
            ]
    if 'kd' in by_name and 'kd_qat' in by_name:
        kd = by_name['kd'].metrics.get('test', {}).get(METRIC)
        kd_qat = by_name['kd_qat'].metrics.get('test', {}).get(METRIC)
        if kd is not None and kd_qat is not None:
            line = (f'KD+QAT int8 vs KD float student (test mean class '
                    f'accuracy): {100 * (kd_qat - kd):+.1f} points.')
            if by_name['kd'] in at_chance and by_name['kd_qat'] in at_chance:
                line += (' Both are at chance, so this difference says '
                         'nothing about what quantization costs.')
            lines += [line, '']
    lines += [
        '## Plots', '', '![accuracy vs latency](accuracy_vs_latency.png)', '',
        '![per-class accuracy](per_class_accuracy.png)', ''
    ]
    if final_per_class:
        lines += [f'Confusion matrix of the final model ({final.title}):', '',
                  f'![confusion matrix]({confusion})', '']
    if benchmark and osp.isfile(osp.splitext(benchmark)[0] + '.md'):
        with open(osp.splitext(benchmark)[0] + '.md') as f:
            lines += [f'## Every runtime, {final.title}', '', f.read(), '']
    path = osp.join(work_dir, 'report.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    return path
