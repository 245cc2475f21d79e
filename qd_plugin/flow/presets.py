"""Named schedules of the flow for CPUs (``run_flow.py --preset NAME``).

The paper's settings (16 frames, 224x224, 200 epochs, Kinetics weights) need
a GPU. These presets train from scratch on small clips of the embedded
synthetic data; their settings were chosen on the validation split.
"""
import copy
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config

from .quick import shrink_config

STAGES = ('teacher', 'float', 'kd', 'qat', 'kd_qat')


@dataclass(frozen=True)
class StageSchedule:
    """How one stage trains.

    Args:
        epochs (int): Training epochs.
        epoch_length (int): Training clips per epoch.
        optimizer (dict): Optimizer config (the learning rate follows a
            cosine to 0).
        cfg_options (dict): Other settings, as ``--cfg-options`` gives them
            (e.g. ``{'model.cls_head.dropout_ratio': 0.0}``).
    """
    epochs: int
    epoch_length: int
    optimizer: Dict
    cfg_options: Dict = field(default_factory=dict)


@dataclass(frozen=True)
class FlowPreset:
    """A CPU schedule of the whole flow.

    Args:
        name (str): ``quick`` or ``medium``.
        clip_len (int): Frames per clip.
        frame_interval (int): Step between sampled frames.
        size (int): Side of the square input.
        batch_size (int): Clips per batch.
        crop_area (tuple[float, float]): ``area_range`` of the training crop.
        stages (dict[str, StageSchedule]): Schedule of each stage.
        synthetic_args (list[str]): Arguments of
            ``tools/data/driveact/make_synthetic.py`` for the embedded data.
    """
    name: str
    clip_len: int
    frame_interval: int
    size: int
    batch_size: int
    crop_area: Tuple[float, float]
    stages: Dict[str, StageSchedule]
    synthetic_args: List[str] = field(default_factory=list)

    @property
    def epochs(self) -> Dict[str, int]:
        """Epochs of each stage."""
        return {name: s.epochs for name, s in self.stages.items()}

    def with_epochs(self, epochs: Dict[str, int]) -> 'FlowPreset':
        """The same preset with other epochs for some stages."""
        stages = dict(self.stages)
        for name, value in epochs.items():
            stages[name] = replace(stages[name], epochs=value)
        return replace(self, stages=stages)

    def apply(self, cfg: Config, stage: str) -> Config:
        """Shrink the config of ``stage`` in place to this preset."""
        schedule = self.stages[stage]
        cfg.merge_from_dict(copy.deepcopy(schedule.cfg_options))
        return shrink_config(
            cfg,
            schedule.epochs,
            clip_len=self.clip_len,
            size=self.size,
            frame_interval=self.frame_interval,
            batch_size=self.batch_size,
            num_workers=0,
            epoch_length=schedule.epoch_length,
            optimizer=copy.deepcopy(schedule.optimizer),
            crop_area=self.crop_area)


def _adamw(lr: float) -> Dict:
    return dict(type='AdamW', lr=lr, weight_decay=0.01)


# The student from scratch, and QAT as a short fine-tuning of a trained model
# (a low learning rate: it calibrates the quantization ranges and adapts the
# weights to them, without training the model further).
_QUICK_STUDENT = StageSchedule(3, 1440, _adamw(1.2e-2))
_QUICK_QAT = StageSchedule(2, 480, _adamw(5e-5))
# The teacher was validated in its own stage: KD validates the student only.
_STUDENT_VALIDATION = {'val_cfg.type': 'ValLoop'}

PRESETS: Dict[str, FlowPreset] = {
    # About 8 minutes on 2 CPU cores (README): 8 frames 4 apart (~1 s) at
    # 48x48, the smallest size at which the 3D MobileNet from scratch learns
    # within a few hundred steps (at 32x32 its last 8 blocks see 1x1 maps).
    'quick': FlowPreset(
        name='quick',
        clip_len=8,
        frame_interval=4,
        size=48,
        batch_size=16,
        crop_area=(0.8, 1.0),
        stages=dict(
            # Without dropout the I3D leaves its first plateau about twice
            # as fast (val 0.39 vs 0.13 after 50 steps).
            teacher=StageSchedule(
                2, 1280, _adamw(2e-3),
                {'model.cls_head.dropout_ratio': 0.0}),
            float=_QUICK_STUDENT,
            kd=replace(_QUICK_STUDENT, cfg_options=_STUDENT_VALIDATION),
            qat=_QUICK_QAT,
            kd_qat=_QUICK_QAT)),
    # About half an hour on 2 CPU cores (README): the quick clips, about 4x
    # the steps for the teacher and the students, to measure what
    # distillation does once the teacher is ahead of the student.
    'medium': FlowPreset(
        name='medium',
        clip_len=8,
        frame_interval=4,
        size=48,
        batch_size=16,
        crop_area=(0.8, 1.0),
        stages=dict(
            teacher=StageSchedule(
                8, 1280, _adamw(2e-3),
                {'model.cls_head.dropout_ratio': 0.0}),
            float=StageSchedule(10, 1600, _adamw(1.2e-2)),
            kd=StageSchedule(10, 1600, _adamw(1.2e-2), _STUDENT_VALIDATION),
            qat=StageSchedule(3, 960, _adamw(5e-5)),
            kd_qat=StageSchedule(3, 960, _adamw(5e-5)))),
}


def get_preset(name: str, epochs: Optional[Dict[str, int]] = None
               ) -> FlowPreset:
    """A preset by name, with optional per-stage epochs.

    Args:
        name (str): A key of :data:`PRESETS`.
        epochs (dict[str, int], optional): Epochs of some stages.

    Returns:
        FlowPreset: The preset.
    """
    if name not in PRESETS:
        raise ValueError(f'unknown preset {name!r}; expected one of '
                         f'{sorted(PRESETS)}')
    unknown = sorted(set(epochs or {}) - set(STAGES))
    if unknown:
        raise ValueError(f'unknown stage(s) {unknown}; expected some of '
                         f'{list(STAGES)}')
    return PRESETS[name].with_epochs(epochs or {})
