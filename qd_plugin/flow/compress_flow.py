"""The compress-and-evaluate flow of ``tools/run_flow.py``.

Each stage is a standard ``tools/train.py`` / ``tools/test.py`` run whose
config (variables bound, ``--quick`` settings applied) is saved in the stage
folder first, so a stage can be re-run by hand with exactly what the flow ran.
A stage that finished is not run again.
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
from .quick import shrink_config


@dataclass
class QuickSettings:
    """What ``--quick`` trains with (2 CPU cores, minutes)."""
    clip_len: int = 8
    size: int = 32
    # 8 frames 4 apart span ~1 s at 30 fps: a whole cycle of most motions.
    frame_interval: int = 4
    epochs: Dict[str, int] = field(default_factory=lambda: dict(
        teacher=3, float=6, kd=6, qat=2, kd_qat=3))
    synthetic_args: List[str] = field(
        default_factory=lambda: ['--height', '48', '--width', '64'])


@dataclass
class ModelResult:
    """A trained model of the flow and where its evaluations are."""
    name: str
    title: str
    precision: str  # 'fp32' or 'int8'
    config: str  # the config it is tested with
    checkpoint: str
    metrics: Dict[str, Dict[str, float]] = field(default_factory=dict)
    size_mb: Optional[float] = None
    latency_ms: Optional[float] = None


class CompressFlow:
    """Teacher -> float student -> KD -> QAT -> KD+QAT -> int8 evaluation ->
    export -> benchmark -> report.

    Args:
        repo_root (str): Folder holding ``configs/`` and ``tools/``.
        work_dir (str): Where every stage writes its folder and the report.
        data_root (str, optional): Drive&Act data with ``videos/`` and
            ``activities_3s/``; synthetic data is generated into
            ``data/driveact`` when None.
        quick (QuickSettings, optional): Small clips and few epochs.
        threads (int): Threads of the latency benchmark. Defaults to 2.
    """

    def __init__(self,
                 repo_root: str,
                 work_dir: str,
                 data_root: Optional[str] = None,
                 quick: Optional[QuickSettings] = None,
                 threads: int = 2) -> None:
        self.repo_root = osp.abspath(repo_root)
        self.work_dir = osp.abspath(work_dir)
        self.data_root = osp.abspath(data_root or osp.join(
            self.repo_root, 'data', 'driveact'))
        self.synthetic = data_root is None
        self.quick = quick
        self.threads = threads
        os.makedirs(self.work_dir, exist_ok=True)
        self.logger = MMLogger.get_instance(
            'qd_flow', log_file=osp.join(self.work_dir, 'flow.log'))

    # ----------------------------------------------------------------- stages
    def run(self) -> str:
        """Run every stage that has not finished; returns the report path."""
        from .report import write_report
        started = time.time()
        self.prepare_data()
        teacher = self.train('teacher', 'I3D teacher', 'i3d_driveact.py')
        student = self.train('float', '3D MobileNet 0.5x', 'mbv3d_driveact.py')
        kd = self.train('kd', '3D MobileNet 0.5x + KD', 'kd_mbv3d.py',
                        teacher_ckpt=teacher.checkpoint)
        kd = self.extract_student(kd, student.config)
        qat = self.train('qat', '3D MobileNet 0.5x + QAT (int8)',
                         'qat_mbv3d.py', float_checkpoint=student.checkpoint)
        kd_qat = self.train(
            'kd_qat', '3D MobileNet 0.5x + KD + QAT (int8)',
            'kd_qat_mbv3d.py', teacher_ckpt=teacher.checkpoint,
            float_checkpoint=kd.checkpoint)
        models = [teacher, student, kd, qat, kd_qat]
        for model in models:
            self.evaluate(model)
        settings = self.settings()
        try:
            settings['export'] = self.export(kd_qat)
        except RuntimeError as error:
            # A failed parity check must not hide the rest of the results.
            settings['export'] = f'FAILED: {str(error).splitlines()[0]}'
            self.logger.error(settings['export'])
        self.benchmark(models)
        report = write_report(models, self.work_dir, settings,
                              benchmark=self._benchmark_path('kd_qat'))
        self.logger.info(f'flow finished in {time.time() - started:.0f} s: '
                         f'{report}')
        return report

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
        args = list(self.quick.synthetic_args) if self.quick else []
        self._run_tool('data', 'make_synthetic',
                       ['tools/data/driveact/make_synthetic.py', '--out-dir',
                        self.data_root, *args])

    def train(self, name: str, title: str, config: str,
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
            self._run_tool(name, 'train',
                           ['tools/train.py', stage_config, '--work-dir',
                            stage_dir])
            record = dict(config=stage_config,
                          checkpoint=self._final_checkpoint(stage_dir),
                          config_sha256=_sha256(cfg.dump()))
            with open(done, 'w') as f:
                json.dump(record, f, indent=2)
        precision = 'int8' if 'qat' in name else 'fp32'
        return ModelResult(name, title, precision, record['config'],
                           record['checkpoint'])

    def extract_student(self, kd: ModelResult,
                        student_config: str) -> ModelResult:
        """The KD student alone, tested with the float student's config."""
        path = osp.join(self.work_dir, kd.name, 'student.pth')
        if not osp.isfile(path):
            self._run_tool(kd.name, 'extract_student',
                           ['tools/convert_kd_ckpt_to_student.py',
                            kd.checkpoint, path])
        kd.config, kd.checkpoint = student_config, path
        return kd

    def evaluate(self, model: ModelResult) -> None:
        """Test ``model`` on the val and test subsets (int8 for QAT)."""
        for subset in ('val', 'test'):
            out_dir = osp.join(self.work_dir, model.name, f'eval_{subset}')
            metrics_file = osp.join(out_dir, 'test_metrics.json')
            if not osp.isfile(metrics_file):
                self._run_tool(
                    model.name, f'test_{subset}',
                    ['tools/test.py', model.config, model.checkpoint,
                     '--work-dir', out_dir, '--cfg-options',
                     f'test_dataloader.dataset.subset={subset}'])
            with open(metrics_file) as f:
                metrics = json.load(f)
            prefix = 'int8/' if model.precision == 'int8' else ''
            model.metrics[subset] = {
                key[len(prefix):]: value
                for key, value in metrics.items() if key.startswith(prefix)
            }
            if model.precision == 'int8':
                model.size_mb = metrics['int8/size_mb']
        if model.size_mb is None:
            model.size_mb = _state_dict_mb(model.checkpoint)

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
                 *(['--overwrite'] if osp.isdir(deploy_dir) else [])])
            open(done, 'w').close()
        return deploy_dir

    def benchmark(self, models: List[ModelResult]) -> None:
        """Batch-1 CPU latency of every model, via ``tools/benchmark.py``.

        The final model's run has every runtime (the float rows export the
        KD student themselves), the others only PyTorch's.
        """
        if importlib.util.find_spec('mmdeploy') is None:
            self.logger.info('benchmark: skipped (needs the deploy extra)')
            return
        by_name = {m.name: m for m in models}
        teacher = by_name['teacher']
        teacher_rows = self._benchmark(
            'teacher', ['tools/benchmark.py', teacher.config,
                        teacher.checkpoint, '--rows', 'torch_fp32'])
        teacher.latency_ms = _p50(teacher_rows, 'torch_fp32')
        for name in ('qat', 'kd_qat'):
            only_torch = [] if name == 'kd_qat' else [
                '--rows', 'torch_fp32', 'torch_int8_qat'
            ]
            rows = self._benchmark(
                name, ['tools/benchmark.py', by_name['kd'].config,
                       by_name['kd'].checkpoint, '--qat-config',
                       by_name[name].config, '--qat-checkpoint',
                       by_name[name].checkpoint, *only_torch])
            by_name[name].latency_ms = _p50(rows, 'torch_int8_qat_x86')
            for float_name in ('float', 'kd'):
                by_name[float_name].latency_ms = _p50(rows, 'torch_fp32')

    # ---------------------------------------------------------------- helpers
    def settings(self) -> Dict:
        return dict(
            data_root=self.data_root,
            synthetic=self.synthetic,
            quick=self.quick.__dict__ if self.quick else None,
            threads=self.threads,
            torch=torch.__version__)

    def _build_stage_config(self, name: str, config: str,
                            variables: Dict) -> Config:
        """Bind the variables (data, checkpoints) and apply the quick
        settings."""
        cfg = load_config(
            osp.join(self.repo_root, 'configs', config),
            dict(variables,
                 data_root=osp.join(self.data_root, 'videos'),
                 ann_root=osp.join(self.data_root, 'activities_3s')))
        if self.quick:
            shrink_config(cfg, self.quick.epochs[name], self.quick.clip_len,
                          self.quick.size, self.quick.frame_interval)
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
                '--threads', str(self.threads), '--out', path])
        with open(path) as f:
            return json.load(f)['rows']

    def _run_tool(self, stage: str, step: str, command: List[str]) -> None:
        log = osp.join(self.work_dir, 'logs', f'{stage}_{step}.log')
        os.makedirs(osp.dirname(log), exist_ok=True)
        self.logger.info(f'{stage}: {step} ... (log: {log})')
        started = time.time()
        with open(log, 'w') as f:
            result = subprocess.run([sys.executable, *command],
                                    cwd=self.repo_root,
                                    stdout=f,
                                    stderr=subprocess.STDOUT)
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
    state_dict = torch.load(checkpoint, map_location='cpu')['state_dict']
    return serialized_size(state_dict) / 1e6


def _p50(rows: List[Dict], key: str) -> Optional[float]:
    """p50 latency of the benchmark row ``key`` (see
    :mod:`qd_plugin.benchmark.rows`)."""
    matches = [row['p50_ms'] for row in rows if row['key'] == key]
    return matches[0] if matches else None
