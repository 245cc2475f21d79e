"""The float teacher of a distillation: built from any MMAction2 config,
with the student's classes, and the inputs it expects."""
import importlib
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from mmengine.registry import DefaultScope

from mmrazor.registry import MODELS


def _from_package_config(cfg_path: str,
                         num_classes: int,
                         pretrained: bool = False,
                         cfg_options: Optional[Dict] = None) -> nn.Module:
    from mmengine.hub import get_config
    from mmengine.logging import print_log
    from mmengine.runner import load_checkpoint
    package = cfg_path.split('::')[0]
    cfg = get_config(cfg_path, pretrained)
    if 'data_preprocessor' in cfg:  # as mmengine.hub.get_model does
        cfg.model.data_preprocessor = cfg.data_preprocessor
    if cfg_options:
        cfg.merge_from_dict(
            {f'model.{key}': value
             for key, value in cfg_options.items()})
    if cfg.model.get('cls_head') is None:
        raise ValueError(f'the teacher {cfg_path} has no cls_head')
    cfg.model.cls_head.num_classes = num_classes
    importlib.import_module(f'{package}.utils').register_all_modules(False)
    with DefaultScope.overwrite_default_scope(package):
        teacher = MODELS.build(cfg.model)
    if pretrained:
        # The zoo's classifier has the zoo dataset's classes: its weights
        # are skipped (size mismatch) and stay as initialized.
        load_checkpoint(teacher, cfg.model_path, map_location='cpu')
        teacher._is_init = True
    print_log(f'teacher {cfg_path} with {num_classes} classes',
              logger='current')
    return teacher


def build_teacher(teacher: Union[Dict, nn.Module],
                  num_classes: int) -> nn.Module:
    """The float teacher of a distillation, with ``num_classes`` classes.

    Args:
        teacher (dict | nn.Module): A built recognizer, a recognizer config,
            or ``dict(cfg_path='mmaction::recognition/...py', pretrained=
            False, cfg_options=None)``: the model of an MMAction2 config,
            its head given ``num_classes`` (``cfg_options`` override the
            model config with MMEngine's ``--cfg-options`` syntax, keys
            relative to ``model``; ``pretrained`` loads the model zoo
            weights of the config's metafile, all but the classifier).
        num_classes (int): The student's (the dataset's) class count.

    Returns:
        nn.Module: The teacher.

    Raises:
        ValueError: the teacher's head has another class count.
    """
    if isinstance(teacher, dict) and teacher.get('cfg_path') and \
            not teacher.get('type'):
        return _from_package_config(num_classes=num_classes, **teacher)
    if isinstance(teacher, dict):
        teacher = MODELS.build(teacher)
    teacher_classes = getattr(getattr(teacher, 'cls_head', None),
                              'num_classes', None)
    if teacher_classes != num_classes:
        raise ValueError(
            f'the teacher classifies {teacher_classes} classes '
            f'(teacher cls_head.num_classes) and the student {num_classes} '
            '(architecture cls_head.num_classes): set the teacher\'s '
            'num_classes, or give it as dict(cfg_path=...), whose class '
            'count follows the student\'s')
    return teacher


def _channel_stats(preprocessor: nn.Module):
    mean = getattr(preprocessor, 'mean', None)
    std = getattr(preprocessor, 'std', None)
    if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
        return None
    return mean.flatten(), std.flatten()


class TeacherInputs(nn.Module):
    """The student's preprocessed clips as the teacher expects them.

    A distillation runs the teacher on the batch the student's data
    preprocessor made. Where the teacher's preprocessor normalizes
    otherwise, the clips are normalized again (``(x * std_S + mean_S -
    mean_T) / std_T``); where its input layout differs (``format_shape``),
    they are rearranged: the frames of a frame-wise (``'NCHW'``) student,
    (N, S, C, H, W), become one clip of S frames of a 3D (``'NCTHW'``)
    teacher, (N, 1, C, S, H, W), and the clips of a 3D student, (N, K, C, T,
    H, W), become K * T frames of a frame-wise teacher.

    Args:
        student_preprocessor (nn.Module): The student's data preprocessor.
        teacher_preprocessor (nn.Module): The teacher's.
    """

    _LAYOUTS = ('NCHW', 'NCTHW')

    def __init__(self, student_preprocessor: nn.Module,
                 teacher_preprocessor: nn.Module) -> None:
        super().__init__()
        layouts = (getattr(student_preprocessor, 'format_shape', 'NCHW'),
                   getattr(teacher_preprocessor, 'format_shape', 'NCHW'))
        for layout in layouts:
            if layout not in self._LAYOUTS:
                raise ValueError('distillation supports the input layouts '
                                 f'{self._LAYOUTS}, got {layout!r}')
        self.student_layout, self.teacher_layout = layouts
        student, teacher = (_channel_stats(student_preprocessor),
                            _channel_stats(teacher_preprocessor))
        self.renormalize = student is not None and teacher is not None and \
            not all(torch.equal(s, t) for s, t in zip(student, teacher))
        if self.renormalize:
            (s_mean, s_std), (t_mean, t_std) = student, teacher
            # x_T = x_S * scale + shift, per channel.
            self.register_buffer('scale', s_std / t_std, persistent=False)
            self.register_buffer(
                'shift', (s_mean - t_mean) / t_std, persistent=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Rearranged and renormalized ``inputs``.

        Args:
            inputs (torch.Tensor): The student's preprocessed inputs.

        Returns:
            torch.Tensor: The teacher's.
        """
        if self.renormalize:
            shape = [1] * inputs.dim()
            shape[2] = -1  # channels: (N, K, C, ...)
            inputs = inputs * self.scale.view(shape) + self.shift.view(shape)
        if self.student_layout == self.teacher_layout:
            return inputs
        if self.student_layout == 'NCHW':
            return inputs.transpose(1, 2).unsqueeze(1)
        return inputs.permute(0, 1, 3, 2, 4, 5).flatten(1, 2)
