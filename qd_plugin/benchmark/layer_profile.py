"""Per-layer CPU profiles: where each model's batch-1 time goes.

OpenVINO models are profiled per compiled layer (``PERF_COUNT``: the layer
after OpenVINO's fusions, its type and kernel, e.g. ``Convolution`` /
``brgconv_avx512_1x1_I8``; reorders and FakeQuantize subgraphs it inserted
show up as their own layers). PyTorch callables are profiled per operator
call with ``torch.profiler``, grouped by operator and input shapes (one row
per layer for the convolutions of a network, whose shapes differ).

The models are run interleaved (each round runs every model once, in a
random order), so that load from other processes hits them alike. Unlike
:func:`~qd_plugin.benchmark.core.time_cases` this mixes runtimes, which can
slow PyTorch's calls (see there): compare time shares within a model, and
absolute times with ``tools/benchmark.py``.
"""
import json
import os
import os.path as osp
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ..deploy.runtimes import OpenVINORuntime

Runner = Union[OpenVINORuntime, Callable[[np.ndarray], object]]


@dataclass
class LayerProfile:
    """Time per inference of each layer of one model: the median over the
    profiled calls (robust to the other processes of a shared machine).

    Attributes:
        label (str): The model.
        layers (list[dict]): ``name``, ``type``, ``kernel`` (OpenVINO's
            ``exec_type``, PyTorch's first input shape) and ``ms`` (median),
            slowest first.
        wall_ms (list[float]): Wall time of each profiled call (profiling
            costs a little; the benchmark gives the real latency).
    """

    label: str
    layers: List[Dict] = field(default_factory=list)
    wall_ms: List[float] = field(default_factory=list)

    @property
    def total_ms(self) -> float:
        """Sum of the layers' (median) times."""
        return float(sum(layer['ms'] for layer in self.layers))

    @property
    def wall_p50_ms(self) -> float:
        return float(np.median(self.wall_ms)) if self.wall_ms else 0.0

    def share(self, ms: float) -> float:
        total = self.total_ms
        return ms / total if total else 0.0

    def by_type(self) -> List[Dict]:
        """Times summed per (type, kernel), slowest first."""
        sums: Dict[tuple, float] = defaultdict(float)
        counts: Dict[tuple, int] = defaultdict(int)
        for layer in self.layers:
            key = (layer['type'], layer['kernel'])
            sums[key] += layer['ms']
            counts[key] += 1
        rows = [
            dict(type=t, kernel=k, count=counts[(t, k)], ms=ms,
                 share=self.share(ms)) for (t, k), ms in sums.items()
        ]
        return sorted(rows, key=lambda r: -r['ms'])

    def top(self, num: int) -> List[Dict]:
        """The ``num`` slowest layers with their share of the total."""
        return [
            dict(layer, share=self.share(layer['ms']))
            for layer in self.layers[:num]
        ]

    def to_dict(self, num: Optional[int] = None) -> Dict:
        return dict(
            label=self.label,
            wall_p50_ms=round(self.wall_p50_ms, 4),
            layers_total_ms=round(self.total_ms, 4),
            num_layers=len(self.layers),
            by_type=_rounded(self.by_type()),
            layers=_rounded(self.top(num or len(self.layers))))


def _rounded(rows: List[Dict]) -> List[Dict]:
    return [
        {k: round(v, 4) if isinstance(v, float) else v
         for k, v in row.items()} for row in rows
    ]


def _openvino_layers(runtime: OpenVINORuntime) -> List[tuple]:
    """(name, type, kernel, ms) of each layer the last call executed (not
    those optimized out or not run)."""
    return [(info.node_name, info.node_type, info.exec_type,
             info.real_time.total_seconds() * 1e3)
            for info in runtime.profiling_info()
            if str(info.status).endswith('EXECUTED')]


def profile_models(models: Mapping[str, Runner],
                   inputs: np.ndarray,
                   iters: int = 20,
                   warmup: int = 3,
                   settle_s: float = 0.02) -> List[LayerProfile]:
    """Profile each model on ``inputs`` (batch 1), interleaved.

    Args:
        models (Mapping[str, Runner]): Label -> an :class:`OpenVINORuntime`
            built with ``perf_count=True`` (profiled per compiled layer) or a
            callable running PyTorch (profiled per operator call).
        inputs (np.ndarray): The input of every model.
        iters (int): Profiled calls per model.
        warmup (int): Unprofiled calls per model first.
        settle_s (float): Pause after each call, so that one runtime's
            spinning worker threads do not slow down the next one.

    Returns:
        list[LayerProfile]: In the order of ``models``.
    """
    from torch.profiler import ProfilerActivity, profile, record_function
    labels = list(models)
    openvino_times: Dict[str, Dict[tuple, List[float]]] = {
        label: defaultdict(list)
        for label in labels
    }
    wall: Dict[str, List[float]] = {label: [] for label in labels}
    for _ in range(warmup):
        for label in labels:
            models[label](inputs)
    rng = np.random.default_rng(0)
    # OpenVINO calls record no PyTorch events: one profiler sees them all.
    with profile(activities=[ProfilerActivity.CPU],
                 record_shapes=True) as profiler:
        for _ in range(iters):
            for k in rng.permutation(len(labels)):
                label = labels[k]
                model = models[label]
                is_openvino = isinstance(model, OpenVINORuntime)
                start = time.perf_counter()
                if is_openvino:
                    model(inputs)
                else:
                    with record_function(_TORCH_SCOPE + label):
                        model(inputs)
                wall[label].append((time.perf_counter() - start) * 1e3)
                if is_openvino:
                    for name, kind, kernel, ms in _openvino_layers(model):
                        openvino_times[label][(name, kind, kernel)].append(
                            ms)
                if settle_s:
                    time.sleep(settle_s)
    torch_times = _torch_layer_times(profiler.events())
    profiles = []
    for label in labels:
        times = torch_times[label] if label in torch_times else \
            openvino_times[label]
        layers = [
            dict(name=name, type=kind, kernel=kernel,
                 ms=float(np.median(ms)))
            for (name, kind, kernel), ms in times.items()
        ]
        layers.sort(key=lambda layer: -layer['ms'])
        profiles.append(LayerProfile(label, layers, wall[label]))
    return profiles


_TORCH_SCOPE = 'profiled_model::'


def _torch_layer_times(events) -> Dict[str, Dict[tuple, List[float]]]:
    """Self CPU times (ms, one per call) of each operator call of
    each profiled PyTorch model, keyed by (``<operator> #<call index in the
    model>``, operator, first input shape): every call of a model runs the
    same operators in the same order, so the index names a layer."""
    calls: Dict[int, List] = defaultdict(list)
    scopes = {}
    for event in events:
        scope = event.cpu_parent
        while scope is not None and not scope.name.startswith(_TORCH_SCOPE):
            scope = scope.cpu_parent
        if scope is not None:
            calls[id(scope)].append(event)
            scopes[id(scope)] = scope
    times: Dict[str, Dict[tuple, List[float]]] = defaultdict(
        lambda: defaultdict(list))
    for scope_id, members in calls.items():
        label = scopes[scope_id].name[len(_TORCH_SCOPE):]
        members.sort(key=lambda e: e.time_range.start)
        for index, event in enumerate(members):
            shapes = [list(s) for s in (event.input_shapes or []) if s]
            key = (f'{event.name} #{index}', event.name,
                   str(shapes[0]) if shapes else '')
            times[label][key].append(event.self_cpu_time_total / 1e3)
    return times


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------
def markdown_report(profiles: Sequence[LayerProfile], top: int = 15) -> str:
    """Per model: time by layer type and kernel, then the slowest layers."""
    lines = []
    for prof in profiles:
        lines += [
            f'## {prof.label}', '',
            f'wall p50 while profiling {prof.wall_p50_ms:.2f} ms; sum of '
            f'layer times {prof.total_ms:.2f} ms over {len(prof.layers)} '
            'layers', '', '| type | kernel | layers | ms | share |',
            '|---|---|---|---|---|'
        ]
        for row in prof.by_type():
            lines.append(f"| {row['type']} | {row['kernel']} | "
                         f"{row['count']} | {row['ms']:.3f} | "
                         f"{row['share']:.1%} |")
        lines += [
            '', f'Top {top} layers:', '',
            '| layer | type | kernel | ms | share |', '|---|---|---|---|---|'
        ]
        for row in prof.top(top):
            lines.append(f"| {row['name']} | {row['type']} | "
                         f"{row['kernel']} | {row['ms']:.3f} | "
                         f"{row['share']:.1%} |")
        lines.append('')
    return '\n'.join(lines)


def bar_plot(profiles: Sequence[LayerProfile], path: str,
             top: int = 15, title: str = '') -> str:
    """One horizontal bar chart of the slowest layers per model, on a
    shared time axis, colored by layer type."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    types = sorted({row['type'] for p in profiles for row in p.top(top)})
    cmap = plt.get_cmap('tab20')
    colors = {t: cmap(i % 20) for i, t in enumerate(types)}
    fig, axes = plt.subplots(
        len(profiles), 1, squeeze=False,
        figsize=(10, 1.2 + 0.28 * top * len(profiles)))
    xmax = max((row['ms'] for p in profiles for row in p.top(1)),
               default=1.0)
    for ax, prof in zip(axes[:, 0], profiles):
        rows = prof.top(top)[::-1]
        ax.barh(range(len(rows)), [r['ms'] for r in rows],
                color=[colors[r['type']] for r in rows])
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(
            [f"{r['name'][:40]} ({r['kernel'][:24]})" for r in rows],
            fontsize=7)
        for y, r in enumerate(rows):
            ax.annotate(f"{r['ms']:.2f} ({r['share']:.0%})", (r['ms'], y),
                        xytext=(2, 0), textcoords='offset points',
                        va='center', fontsize=7)
        ax.set_xlim(0, xmax * 1.25)
        ax.set_title(f'{prof.label}: layers sum {prof.total_ms:.2f} ms, '
                     f'wall p50 {prof.wall_p50_ms:.2f} ms', fontsize=9)
    axes[-1, 0].set_xlabel('ms per inference')
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[t]) for t in types]
    fig.legend(handles, types, loc='upper right', fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9, x=0.01, ha='left')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_profile_report(profiles: Sequence[LayerProfile],
                         out_dir: str,
                         settings: Optional[Dict] = None,
                         top: int = 15,
                         stem: str = 'profile') -> Dict[str, str]:
    """``<stem>.json`` (every layer), ``<stem>.md`` and ``<stem>.png`` (the
    ``top`` slowest) in ``out_dir``. Returns the three paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {
        ext: osp.join(out_dir, f'{stem}.{ext}')
        for ext in ('json', 'md', 'png')
    }
    settings = dict(settings or {})
    with open(paths['json'], 'w') as f:
        json.dump(dict(settings=settings,
                       models=[p.to_dict() for p in profiles]), f, indent=2)
    title = ', '.join(f'{k}={v}' for k, v in settings.items()
                      if k in ('input_shape', 'threads', 'iters'))
    with open(paths['md'], 'w') as f:
        f.write(f'# Per-layer CPU profile ({title})\n\n')
        f.write(markdown_report(profiles, top))
    bar_plot(profiles, paths['png'], top, title)
    return paths
