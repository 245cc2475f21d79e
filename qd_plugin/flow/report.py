"""``report.md`` of the compress-and-evaluate flow: tables with confidence
intervals, paired comparisons and plots."""
import glob
import json
import math
import os.path as osp
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
import matplotlib.ticker
import numpy as np

from ..deploy.parity import compare, tie_margin
from ..evaluation.bootstrap import (Interval, bootstrap_mean_class_accuracy,
                                    paired_bootstrap_difference,
                                    top1_agreement)

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

METRIC = 'acc/mean_class_accuracy'
# Validation metric of each kind of stage in its training log.
_CURVE_KEYS = ('qat.acc/mean_class_accuracy', METRIC)


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two evaluations on the same test clips.

    ``a`` and ``b`` name a model and a variant (``''`` for the model as
    reported, ``'fakequant'`` for a QAT model's fake-quant evaluation).
    """
    title: str
    a: Tuple[str, str]
    b: Tuple[str, str]
    meaning: str


COMPARISONS = (
    Comparison('KD − float', ('kd', ''), ('float', ''),
               'what distillation gains'),
    Comparison('QAT int8 − float', ('qat', ''), ('float', ''),
               'what quantization costs'),
    Comparison('KD+QAT int8 − KD float', ('kd_qat', ''), ('kd', ''),
               'what quantization costs the distilled student'),
    Comparison('KD+QAT int8 − QAT int8', ('kd_qat', ''), ('qat', ''),
               'what distillation gains under quantization'),
    Comparison('QAT int8 − QAT fake-quant', ('qat', ''), ('qat', 'fakequant'),
               'what the int8 conversion changes'),
    Comparison('KD+QAT int8 − KD+QAT fake-quant', ('kd_qat', ''),
               ('kd_qat', 'fakequant'), 'what the int8 conversion changes'),
    Comparison('teacher − float', ('teacher', ''), ('float', ''),
               'room the teacher has over the student'),
)


def _fmt(value: Optional[float], spec: str = '.2f') -> str:
    return '–' if value is None else format(value, spec)


def _pct(value: Optional[float]) -> str:
    return '–' if value is None else f'{100 * value:.1f}'


def _interval_text(interval: Optional[Interval], signed: bool = False) -> str:
    if interval is None:
        return '–'
    sign = '+' if signed else ''
    return (f'{100 * interval.estimate:{sign}.1f} '
            f'[{100 * interval.low:{sign}.1f}, {100 * interval.high:{sign}.1f}]')


def load_scores(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and class scores of a ``predictions.json``."""
    with open(path) as f:
        data = json.load(f)
    return np.asarray(data['labels']), np.asarray(data['scores'])


def load_predictions(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and predicted classes of a ``predictions.json``."""
    labels, scores = load_scores(path)
    return labels, scores.argmax(axis=1)


def accuracy_interval(model, subset: str,
                      variant: str = '') -> Optional[Interval]:
    """Mean class accuracy of ``model`` on ``subset`` with its 95% interval
    (None when its predictions were not written)."""
    path = model.predictions.get((subset, variant))
    if path is None:
        return None
    return bootstrap_mean_class_accuracy(*load_predictions(path))


def results_table(models: Sequence) -> str:
    """The Markdown table of every model's accuracy, size and latency."""
    reference = next((m.latency_ms for m in models if m.name == 'float'),
                     None)
    lines = [
        '| model | precision | val mean class acc (%) [95% CI] | test mean '
        'class acc (%) [95% CI] | test top-1 (%) | size (MB) | CPU latency '
        '(ms) | speed-up vs float |', '|---|---|---|---|---|---|---|---|'
    ]
    for m in models:
        speedup = (reference / m.latency_ms
                   if reference and m.latency_ms else None)
        cells = []
        for subset in ('val', 'test'):
            interval = accuracy_interval(m, subset)
            cells.append(
                _interval_text(interval) if interval else
                _pct(m.metrics.get(subset, {}).get(METRIC)))
        lines.append(
            f'| {m.title} | {m.precision} | {cells[0]} | {cells[1]} | '
            f'{_pct(m.metrics.get("test", {}).get("acc/top1"))} | '
            f'{_fmt(m.size_mb)} | {_fmt(m.latency_ms)} | '
            f'{_fmt(speedup, ".1f")}{"x" if speedup else ""} |')
    return '\n'.join(lines)


def paired_comparisons(models: Sequence) -> List[Tuple[Comparison, Interval]]:
    """Every comparison of :data:`COMPARISONS` whose two test evaluations
    exist, with its paired bootstrap interval."""
    by_name = {m.name: m for m in models}
    results = []
    for comparison in COMPARISONS:
        paths = [
            by_name[name].predictions.get(('test', variant))
            if name in by_name else None
            for name, variant in (comparison.a, comparison.b)
        ]
        if None in paths:
            continue
        (labels, preds_a), (labels_b, preds_b) = map(load_predictions, paths)
        if not np.array_equal(labels, labels_b):
            raise ValueError(f'{comparison.title}: {paths[0]} and {paths[1]} '
                             'are not predictions of the same clips')
        results.append(
            (comparison,
             paired_bootstrap_difference(labels, preds_a, preds_b)))
    return results


def comparisons_table(comparisons: List[Tuple[Comparison,
                                              Interval]]) -> List[str]:
    """The paired comparisons as a table and a sentence each."""
    lines = [
        '| comparison (test) | difference (points) [95% CI] | '
        'significant | what it measures |', '|---|---|---|---|'
    ]
    words = []
    for comparison, interval in comparisons:
        significant = interval.excludes(0)
        lines.append(f'| {comparison.title} | '
                     f'{_interval_text(interval, signed=True)} | '
                     f'{"yes" if significant else "no"} | '
                     f'{comparison.meaning} |')
        if significant:
            words.append(
                f'{comparison.title}: {100 * interval.estimate:+.1f} points, '
                'significant (the 95% interval excludes 0).')
        else:
            words.append(
                f'{comparison.title}: {100 * interval.estimate:+.1f} points, '
                'not significant (the 95% interval holds 0: the data cannot '
                'tell the two apart).')
    return lines + [''] + [f'- {w}' for w in words]


def agreement_lines(models: Sequence, tie_atol: float = 0.4) -> List[str]:
    """int8 vs fake-quant top-1 agreement of every QAT model, plain and
    tie-aware (:func:`~qd_plugin.deploy.parity.near_tie_flips` on log
    probabilities, the criterion of ``tools/deploy.py``'s int8 check)."""
    lines = []
    for m in models:
        paths = [m.predictions.get(('test', v)) for v in ('fakequant', '')]
        if None in paths:
            continue
        (_, fakequant), (_, int8) = map(load_scores, paths)
        parity = compare('int8', fakequant, int8, float('inf'),
                         probabilities=True, reference_name='fake-quant',
                         tie_atol=tie_atol)
        flips = round((1 - parity.top1_agreement) * parity.num_samples)
        lines.append(
            f"- {m.title}: the int8 model predicts the fake-quant model's "
            f'class on {100 * parity.top1_agreement:.1f}% of the '
            f'{parity.num_samples} test clips; {parity.near_tie_flips} of '
            f'the {flips} others are near ties (the fake-quant model scores '
            f'both classes within {tie_margin(tie_atol):g} in log '
            f'probability and every score moves by at most {tie_atol:g}), '
            f'so the tie-aware agreement is '
            f'{100 * parity.tie_aware_agreement:.1f}%. Largest probability '
            f'change: {parity.max_abs_prob_diff:.3f}.')
    return lines


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


def validation_curve(stage_dir: str) -> List[Tuple[int, float]]:
    """``(epoch, mean class accuracy)`` of every validation of a training
    run (the fake-quant model's for QAT), from MMEngine's scalars log."""
    logs = sorted(glob.glob(osp.join(stage_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        return []
    curve = []
    with open(logs[-1]) as f:
        for line in f:
            record = json.loads(line)
            if 'iter' in record:
                continue  # a training iteration
            key = next((k for k in _CURVE_KEYS if k in record), None)
            if key:
                curve.append((int(record['step']), float(record[key])))
    return curve


def plot_validation_curves(models: Sequence, path: str) -> bool:
    """Validation mean class accuracy per epoch of every stage; False when no
    stage logged one."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plotted = False
    for m in models:
        curve = validation_curve(m.stage_dir) if m.stage_dir else []
        if curve:
            epochs, values = zip(*curve)
            ax.plot(epochs, [100 * v for v in values], marker='o',
                    label=m.title)
            plotted = True
    ax.set_xlabel('epoch')
    ax.set_ylabel('val mean class accuracy (%)')
    ax.set_title('Validation during training (fake-quant for QAT)')
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if plotted:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return plotted


def plot_accuracy_vs_latency(models: Sequence, path: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 5))
    for m in models:
        interval = accuracy_interval(m, 'test')
        accuracy = m.metrics.get('test', {}).get(METRIC)
        if accuracy is None or m.latency_ms is None:
            continue
        yerr = None
        if interval:
            accuracy = interval.estimate
            yerr = [[100 * (accuracy - interval.low)],
                    [100 * (interval.high - accuracy)]]
        ax.errorbar(m.latency_ms, 100 * accuracy, yerr=yerr, fmt='o',
                    markersize=6 + 2 * (m.size_mb or 0), alpha=0.7,
                    capsize=3, label=f'{m.title} ({_fmt(m.size_mb)} MB)')
    ax.set_xscale('log')
    for axis_formatter in (ax.xaxis.set_major_formatter,
                           ax.xaxis.set_minor_formatter):
        axis_formatter(matplotlib.ticker.FormatStrFormatter('%g'))
    ax.set_xlabel('CPU latency, batch 1 (ms, log scale)')
    ax.set_ylabel('test mean class accuracy (%), 95% CI')
    ax.set_title('Accuracy vs latency (marker size ~ model size)')
    ax.legend(fontsize=7, loc='best')
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


def wall_time_lines(models: Sequence,
                    task_seconds: Optional[Dict[str, float]]) -> List[str]:
    """Training wall time per stage and the time of every flow step."""
    lines = ['| stage | training wall time (s) |', '|---|---|']
    for m in models:
        lines.append(f'| {m.title} | {_fmt(m.train_seconds, ".0f")} |')
    if task_seconds:
        steps = ', '.join(f'{name} {seconds:.0f} s'
                          for name, seconds in task_seconds.items())
        lines += ['', f'Every step of this run (0 s: done before): {steps}.']
    return lines


def write_report(models: List,
                 work_dir: str,
                 settings: Dict,
                 benchmark: Optional[str] = None,
                 task_seconds: Optional[Dict[str, float]] = None) -> str:
    """Write ``report.md`` and its plots to ``work_dir``.

    Args:
        models (list): The flow's ``ModelResult`` objects, in table order.
        work_dir (str): The flow's work dir.
        settings (dict): How the flow ran (data, preset, threads).
        benchmark (str, optional): The final model's benchmark JSON; its
            table (every runtime) is included when it exists.
        task_seconds (dict, optional): Wall seconds of every flow step.

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
    curves = plot_validation_curves(
        models, osp.join(work_dir, 'validation_curves.png'))
    final_per_class = per_class_file(work_dir, final)
    confusion = 'confusion_matrix_final.png'
    if final_per_class:
        shutil.copy(
            osp.join(osp.dirname(final_per_class), 'confusion_matrix.png'),
            osp.join(work_dir, confusion))

    lines = [
        '# Quantized Distillation: compress-and-evaluate report', '',
        f'Generated {datetime.now():%Y-%m-%d %H:%M} by `tools/run_flow.py`.',
        '', '```json', json.dumps(settings, indent=2), '```', '',
        '## Results', '',
        'Mean class accuracy is the mean per-class accuracy over the ground-'
        'truth classes (the Drive&Act metric), with its 95% bootstrap '
        'interval (2000 resamples of the clips within each class). int8 rows '
        'are the true int8 models converted from the QAT checkpoints '
        '(PyTorch `x86` engine); sizes are the float state dict or the int8 '
        'TorchScript artifact; latency is batch 1 on the CPU, p50, measured '
        'by `tools/benchmark.py` at the input shape the flow trained with '
        '(see the settings; README has the 16x224x224 figures), once per '
        'graph: the students share the float row, the QAT models the int8 '
        'row. Speed-up is against the float student.', '',
        results_table(models), ''
    ]
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
    comparisons = paired_comparisons(models)
    if comparisons:
        lines += [
            '## Paired comparisons', '',
            'Differences of test mean class accuracy between two models on '
            'the same clips, with paired bootstrap 95% intervals (the same '
            'resampled clips for both models).', '',
            *comparisons_table(comparisons), ''
        ]
    agreement = agreement_lines(models)
    if agreement:
        lines += ['## int8 vs fake-quant', '', *agreement, '']
    lines += ['## Wall time', '', *wall_time_lines(models, task_seconds), '']
    lines += [
        '## Plots', '', '![accuracy vs latency](accuracy_vs_latency.png)', '',
        '![per-class accuracy](per_class_accuracy.png)', ''
    ]
    if curves:
        lines += ['![validation curves](validation_curves.png)', '']
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
