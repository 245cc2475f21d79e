"""The compress-and-evaluate flow of ``tools/run_flow.py``.

Each stage is a standard ``tools/train.py`` / ``tools/test.py`` run whose
config (variables bound, preset applied) is saved in the stage folder first,
so a stage can be re-run by hand with exactly what the flow ran. A stage that
finished is not run again. Independent stages run side by side, one CPU core
each (:class:`TaskGraph`); the latency benchmark runs alone.
"""
import glob
import hashlib
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from ..quantization import serialized_size
from ..utils import load_config
from ..utils.checkpoint import read_checkpoint, state_dict_of
from .presets import FlowPreset
from .scheduler import Task, TaskGraph

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass
class ModelResult:
    """A trained model of the flow and where its evaluations are.

    ``predictions`` maps ``(subset, variant)`` to a ``predictions.json`` of
    :class:`~qd_plugin.evaluation.ClassAccuracyMetric`; the variant is
    ``''`` for the model as reported (int8 for QAT models) and
    ``'fakequant'`` for the fake-quantized QAT model.
    """
    name: str
    title: str
    precision: str  # 'fp32' or 'int8'
    config: str  # the config it is tested with
    checkpoint: str
    metrics: Dict[str, Dict[str, float]] = field(default_factory=dict)
    size_mb: Optional[float] = None
    latency_ms: Optional[float] = None
    predictions: Dict = field(default_factory=dict)
    train_seconds: Optional[float] = None
    stage_dir: Optional[str] = None


class CompressFlow:
    """Teacher -> float student -> KD -> QAT -> KD+QAT -> int8 evaluation ->
    export -> benchmark -> report.

    Args:
        repo_root (str): Folder holding ``configs/`` and ``tools/`` (a
            checkout, or an installed package's ``.mim``: see
            :func:`~qd_plugin.utils.package_files_root`).
        work_dir (str): Where every stage writes its folder and the report.
        data_root (str, optional): Drive&Act data with ``videos/`` and
            ``activities_3s/``; synthetic data is generated into
            ``./data/driveact`` when None.
        preset (FlowPreset, optional): A CPU schedule (small clips, few
            epochs, decoded-clip cache); the configs' own settings when None.
        threads (int): Threads of the latency benchmark. Defaults to 2.
        jobs (int): Stages run side by side. Defaults to 2.
        cores (int, optional): CPU cores the jobs share. Defaults to
            ``threads``.
    """

    def __init__(self,
                 repo_root: str,
                 work_dir: str,
                 data_root: Optional[str] = None,
                 preset: Optional[FlowPreset] = None,
                 threads: int = 2,
                 jobs: int = 2,
                 cores: Optional[int] = None) -> None:
        self.repo_root = osp.abspath(repo_root)
        self.work_dir = osp.abspath(work_dir)
        self.data_root = osp.abspath(data_root or osp.join(
            'data', 'driveact'))
        self.synthetic = data_root is None
        self.preset = preset
        self.threads = threads
        self.jobs = jobs
        self.cores = cores or threads
        self.clip_cache = (osp.join(self.work_dir, 'clip_cache')
                           if preset else None)
        self.models: Dict[str, ModelResult] = {}
        os.makedirs(self.work_dir, exist_ok=True)
        self.logger = MMLogger.get_instance(
            'qd_flow', log_file=osp.join(self.work_dir, 'flow.log'))

    # ----------------------------------------------------------------- stages
    def run(self) -> str:
        """Run every stage that has not finished; returns the report path."""
        from .report import write_report
        started = time.time()
        self.prepare_data()
        self.prepare_clip_cache()
        graph = TaskGraph(self.jobs, self.cores)
        self._add_training(graph)
        evaluations = []
        for name in self.models_in_order:
            for subset in ('val', 'test'):
                evaluations.append(
                    graph.add(
                        Task(f'test:{name}:{subset}',
                             lambda threads, n=name, s=subset: self.evaluate(
                                 self.models[n], s, threads),
                             deps=[f'train:{name}'])).name)
        settings = self.settings()
        graph.add(Task('export', lambda threads: self._export(settings),
                       deps=['train:kd_qat']))
        graph.add(Task('benchmark', self.benchmark,
                       deps=evaluations + ['export'], exclusive=True))
        seconds = graph.run()
        models = [self.models[name] for name in self.models_in_order]
        report = write_report(models, self.work_dir, settings,
                              benchmark=self._benchmark_path('kd_qat'),
                              task_seconds=seconds)
        self.logger.info(f'flow finished in {time.time() - started:.0f} s: '
                         f'{report}')
        return report

    models_in_order = ('teacher', 'float', 'kd', 'qat', 'kd_qat')

    def _add_training(self, graph: TaskGraph) -> None:
        """The five trainings, the teacher's chain (the longest) first."""

        def teacher(threads: int) -> None:
            self.train('teacher', 'I3D teacher', 'i3d_driveact.py',
                       threads=threads)

        def float_student(threads: int) -> None:
            self.train('float', '3D MobileNet 0.5x', 'mbv3d_driveact.py',
                       threads=threads)

        def kd(threads: int) -> None:
            result = self.train(
                'kd', '3D MobileNet 0.5x + KD', 'kd_mbv3d.py',
                threads=threads,
                teacher_ckpt=self.models['teacher'].checkpoint)
            # Tested with the float student's config.
            self.extract_student(
                result, self.stage_config('float', 'mbv3d_driveact.py'))

        def qat(threads: int) -> None:
            self.train('qat', '3D MobileNet 0.5x + QAT (int8)', 'qat_mbv3d.py',
                       threads=threads,
                       float_checkpoint=self.models['float'].checkpoint)

        def kd_qat(threads: int) -> None:
            self.train(
                'kd_qat', '3D MobileNet 0.5x + KD + QAT (int8)',
                'kd_qat_mbv3d.py',
                threads=threads,
                teacher_ckpt=self.models['teacher'].checkpoint,
                float_checkpoint=self.models['kd'].checkpoint)

        # The teacher costs most and starts the longest chain: it trains
        # alone, on every core (2 threads are ~1.6x faster than 1 for it,
        # while the student gains little from a second thread).
        graph.add(Task('train:teacher', teacher, exclusive=True))
        graph.add(Task('train:float', float_student))
        graph.add(Task('train:kd', kd, deps=['train:teacher']))
        graph.add(Task('train:qat', qat, deps=['train:float']))
        graph.add(Task('train:kd_qat', kd_qat, deps=['train:kd']))

    def prepare_data(self) -> None:
        """Generate synthetic Drive&Act data when no data root is given."""
        ann_root = osp.join(self.data_root, 'activities_3s')
        if osp.isdir(ann_root):
            self.logger.info(f'data: {self.data_root}')
            return
        if not self.synthetic:
            raise FileNotFoundError(
                f'{ann_root} not found: --data-root must hold videos/ and '
                'activities_3s/ as described in README.md')
        args = list(self.preset.synthetic_args) if self.preset else []
        self._run_tool('data', 'make_synthetic', [
            'tools/data/driveact/make_synthetic.py', '--out-dir',
            self.data_root, '--workers',
            str(self.cores), *args
        ], self.cores)

    def prepare_clip_cache(self) -> None:
        """Decode every chunk once into the clip cache (presets only); the
        up-to-date entries of an earlier run are kept."""
        if not self.clip_cache:
            return
        cfg = self._build_stage_config('float', 'mbv3d_driveact.py', {},
                                       with_cache=False)
        source = osp.join(self.clip_cache, 'source_config.py')
        os.makedirs(self.clip_cache, exist_ok=True)
        cfg.dump(source)
        self._run_tool('data', 'extract_clips', [
            'tools/data/driveact/extract_clips.py', source, '--out-dir',
            self.clip_cache, '--workers',
            str(self.cores)
        ], self.cores)

    def stage_config(self, name: str, config: str) -> str:
        """The saved config of stage ``name`` (written from
        ``configs/<config>`` when missing)."""
        path = osp.join(self.work_dir, name, f'{name}.py')
        if not osp.isfile(path):
            self._save_stage_config(
                name, self._build_stage_config(name, config, {}))
        return path

    def train(self,
              name: str,
              title: str,
              config: str,
              threads: int = 1,
              **variables: str) -> ModelResult:
        """Train ``configs/<config>`` into ``<work_dir>/<name>``."""
        stage_dir = osp.join(self.work_dir, name)
        done = osp.join(stage_dir, 'trained.json')
        cfg = self._build_stage_config(name, config, variables)
        if osp.isfile(done):
            with open(done) as f:
                record = json.load(f)
            self._check_same_config(name, cfg, record)
            self.logger.info(f'{name}: trained before ({record["checkpoint"]})')
        else:
            stage_config = self._save_stage_config(name, cfg)
            started = time.perf_counter()
            self._run_tool(name, 'train', [
                'tools/train.py', stage_config, '--work-dir', stage_dir
            ], threads)
            record = dict(config=stage_config,
                          checkpoint=self._final_checkpoint(stage_dir),
                          config_sha256=_sha256(cfg.dump()),
                          seconds=time.perf_counter() - started)
            with open(done, 'w') as f:
                json.dump(record, f, indent=2)
        precision = 'int8' if 'qat' in name else 'fp32'
        result = ModelResult(name, title, precision, record['config'],
                             record['checkpoint'],
                             train_seconds=record.get('seconds'),
                             stage_dir=stage_dir)
        self.models[name] = result
        return result

    def extract_student(self, kd: ModelResult,
                        student_config: str) -> ModelResult:
        """The KD student alone, tested with the float student's config."""
        path = osp.join(self.work_dir, kd.name, 'student.pth')
        if not osp.isfile(path):
            self._run_tool(kd.name, 'extract_student',
                           ['tools/convert_kd_ckpt_to_student.py',
                            kd.checkpoint, path], 1)
        kd.config, kd.checkpoint = student_config, path
        return kd

    def evaluate(self, model: ModelResult, subset: str,
                 threads: int = 1) -> None:
        """Test ``model`` on ``subset`` (as int8 and fake-quant for QAT)."""
        out_dir = osp.join(self.work_dir, model.name, f'eval_{subset}')
        metrics_file = osp.join(out_dir, 'test_metrics.json')
        if not osp.isfile(metrics_file):
            self._run_tool(
                model.name, f'test_{subset}',
                ['tools/test.py', model.config, model.checkpoint,
                 '--work-dir', out_dir, '--cfg-options',
                 f'test_dataloader.dataset.subset={subset}'], threads)
        with open(metrics_file) as f:
            metrics = json.load(f)
        if model.precision == 'int8':
            variants = {'': 'int8/', 'fakequant': 'fakequant/'}
            model.size_mb = metrics['int8/size_mb']
        else:
            variants = {'': ''}
            model.size_mb = _state_dict_mb(model.checkpoint)
        prefix = variants['']
        model.metrics[subset] = {
            key[len(prefix):]: value
            for key, value in metrics.items() if key.startswith(prefix)
        }
        for variant, folder in variants.items():
            found = sorted(
                glob.glob(osp.join(out_dir, '*', folder, 'predictions.json')))
            if found:
                model.predictions[subset, variant] = found[-1]

    def _export(self, settings: Dict) -> None:
        try:
            settings['export'] = self.export(self.models['kd_qat'])
        except RuntimeError as error:
            # A failed parity check must not hide the rest of the results.
            settings['export'] = f'FAILED: {str(error).splitlines()[0]}'
            self.logger.error(settings['export'])

    def export(self, model: ModelResult) -> Optional[str]:
        """Export ``model`` with mmdeploy when the deploy extra is there."""
        if importlib.util.find_spec('mmdeploy') is None:
            self.logger.info('export: skipped (pip install -e ".[deploy]")')
            return None
        deploy_dir = osp.join(self.work_dir, 'deploy', model.name)
        done = deploy_dir + '.done'
        if not osp.isfile(done):
            self._run_tool(
                'deploy', model.name,
                ['tools/deploy.py',
                 osp.join(self.repo_root, 'configs', 'deploy',
                          'video-recognition_3d_openvino_static.py'),
                 model.config, model.checkpoint, '--work-dir', deploy_dir,
                 # A failed earlier attempt left the folder: ours to replace.
                 *(['--overwrite'] if osp.isdir(deploy_dir) else [])], 1)
            open(done, 'w').close()
        return deploy_dir

    def benchmark(self, threads: Optional[int] = None) -> None:
        """Batch-1 CPU latency of every model, via ``tools/benchmark.py``.

        The final model's run has every runtime (the float rows export the
        KD student themselves); the teacher's has PyTorch's only.
        """
        if importlib.util.find_spec('mmdeploy') is None:
            self.logger.info('benchmark: skipped (needs the deploy extra)')
            return
        by_name = self.models
        teacher = by_name['teacher']
        teacher_rows = self._benchmark(
            'teacher', ['tools/benchmark.py', teacher.config,
                        teacher.checkpoint, '--rows', 'torch_fp32'])
        teacher.latency_ms = _p50(teacher_rows, 'torch_fp32')
        final = by_name['kd_qat']
        rows = self._benchmark(
            'kd_qat', ['tools/benchmark.py', by_name['kd'].config,
                       by_name['kd'].checkpoint, '--qat-config', final.config,
                       '--qat-checkpoint', final.checkpoint])
        # The QAT and KD+QAT models are the same int8 graph with other
        # weights, and the float and KD students the same float graph.
        for name in ('qat', 'kd_qat'):
            by_name[name].latency_ms = _p50(rows, 'torch_int8_qat_x86')
        for name in ('float', 'kd'):
            by_name[name].latency_ms = _p50(rows, 'torch_fp32')

    # ---------------------------------------------------------------- helpers
    def settings(self) -> Dict:
        """How the flow runs, for the report."""
        return dict(
            data_root=self.data_root,
            synthetic=self.synthetic,
            preset=self.preset.name if self.preset else None,
            clip=(dict(clip_len=self.preset.clip_len,
                       frame_interval=self.preset.frame_interval,
                       size=self.preset.size,
                       batch_size=self.preset.batch_size,
                       epochs=self.preset.epochs) if self.preset else None),
            clip_cache=self.clip_cache,
            jobs=self.jobs,
            threads=self.threads,
            torch=torch.__version__)

    def _build_stage_config(self,
                            name: str,
                            config: str,
                            variables: Dict,
                            with_cache: bool = True) -> Config:
        """Bind the variables (data, checkpoints), apply the preset and the
        clip cache."""
        cfg = load_config(
            osp.join(self.repo_root, 'configs', config),
            dict(variables,
                 data_root=osp.join(self.data_root, 'videos'),
                 ann_root=osp.join(self.data_root, 'activities_3s')))
        if self.preset:
            self.preset.apply(cfg, name)
        if with_cache and self.clip_cache:
            for loader in LOADERS:
                cfg[loader].dataset.clip_cache = self.clip_cache
        return cfg

    def _save_stage_config(self, name: str, cfg: Config) -> str:
        """Save the config the stage runs; returns its path."""
        path = osp.join(self.work_dir, name, f'{name}.py')
        os.makedirs(osp.dirname(path), exist_ok=True)
        cfg.dump(path)
        return path

    @staticmethod
    def _check_same_config(name: str, cfg: Config, record: Dict) -> None:
        """A finished stage is reused only for the config it was trained
        with (e.g. not after ``--epochs`` changed)."""
        digest = _sha256(cfg.dump())
        if record.get('config_sha256', digest) == digest:
            return
        stage_dir = osp.dirname(record['config'])
        raise RuntimeError(
            f'{name}: finished before with another config (see '
            f'{record["config"]}); use another --work-dir, or delete '
            f'{stage_dir} to train it again')

    def _final_checkpoint(self, stage_dir: str) -> str:
        best = sorted(glob.glob(osp.join(stage_dir, 'best_*.pth')))
        if best:
            return best[-1]
        with open(osp.join(stage_dir, 'last_checkpoint')) as f:
            return f.read().strip()

    def _benchmark_path(self, name: str) -> str:
        return osp.join(self.work_dir, 'benchmark', f'{name}.json')

    def _benchmark(self, name: str, command: List[str]) -> List[Dict]:
        path = self._benchmark_path(name)
        if not osp.isfile(path):
            self._run_tool('benchmark', name, command + [
                '--threads', str(self.threads), '--out', path
            ], self.threads)
        with open(path) as f:
            return json.load(f)['rows']

    def _run_tool(self, stage: str, step: str, command: List[str],
                  threads: int) -> None:
        """Run one of our tools with ``threads`` CPU threads, logging to
        ``<work_dir>/logs``."""
        log = osp.join(self.work_dir, 'logs', f'{stage}_{step}.log')
        os.makedirs(osp.dirname(log), exist_ok=True)
        self.logger.info(f'{stage}: {step} ... (log: {log})')
        started = time.time()
        env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        with open(log, 'w') as f:
            result = subprocess.run([
                sys.executable,
                osp.join(self.repo_root, command[0]), *command[1:]
            ],
                                    cwd=self.repo_root,
                                    stdout=f,
                                    stderr=subprocess.STDOUT,
                                    env=env)
        if result.returncode != 0:
            with open(log) as f:
                tail = ''.join(f.readlines()[-30:])
            raise RuntimeError(f'{stage}: {step} failed (exit '
                               f'{result.returncode}); end of {log}:\n{tail}')
        self.logger.info(f'{stage}: {step} done in '
                         f'{time.time() - started:.0f} s')


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _state_dict_mb(checkpoint: str) -> float:
    state_dict = state_dict_of(read_checkpoint(checkpoint))
    return serialized_size(state_dict) / 1e6


def _p50(rows: List[Dict], key: str) -> Optional[float]:
    """p50 latency of the benchmark row ``key`` (see
    :mod:`qd_plugin.benchmark.rows`)."""
    matches = [row['p50_ms'] for row in rows if row['key'] == key]
    return matches[0] if matches else None
