from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from ...utils.checkpoint import load_checkpoint_strict
from .strict_mm_architecture_quant import StrictMMArchitectureQuant
from .teacher import TeacherInputs, build_teacher


@MODELS.register_module()
class QuantDistill(StrictMMArchitectureQuant):
    """Quantized distillation: quantization-aware training of a student that
    also learns from a frozen float teacher's soft labels.

    The student is quantizer-prepared (fake-quantized) exactly as in
    :class:`StrictMMArchitectureQuant` (any MMAction2 recognizer); the
    teacher runs in float, in eval mode and without gradients, on the same
    batch (normalized and laid out as its own data preprocessor would, see
    :class:`~.teacher.TeacherInputs`). MMRazor's distiller records the
    logits of both (its student recorders hook the fake-quantized ``loss``
    graph; :class:`~qd_plugin.models.distillers.RecognizerLogitsDistiller`
    finds them from the heads) and computes the distillation losses. With
    the student's CE weighted by ``1 - beta`` and ``KLDivergence(tau=T,
    loss_weight=beta)`` the loss is ``(1 - beta) * CE + beta * T^2 * KL``.
    The teacher must classify the student's classes (an MMAction2 config
    given as ``dict(cfg_path='mmaction::...')`` gets them, see
    :func:`~.teacher.build_teacher`), and the teacher and float checkpoints
    must fit their models (keys and shapes), or building fails.

    `Quantized Distillation <https://arxiv.org/abs/2311.05970>`_

    Args:
        architecture (dict | BaseModel): The float student.
        quantizer (dict): MMRazor quantizer config.
        teacher (dict | BaseModel): The float teacher: a model, its config,
            or ``dict(cfg_path='mmaction::recognition/...', pretrained=False,
            cfg_options=None)`` (see :func:`~.teacher.build_teacher`).
        distiller (dict): MMRazor distiller config, e.g.
            ``ConfigurableDistiller`` with recorders and distill losses.
        teacher_ckpt (str, optional): Teacher weights to load.
            Defaults to None.
        float_checkpoint (str, optional): Float student weights to start
            from. Defaults to None.
        input_shapes (tuple): Shape of the dummy input that fixes the
            quantization parameters' shapes. Defaults to
            ``(1, 1, 3, 16, 224, 224)``.
        data_preprocessor (dict, optional): The data preprocessor.
            Defaults to None (the student's).
        init_cfg (dict, optional): Initialization config. Defaults to None.
        **kwargs: Other arguments of :class:`MMArchitectureQuant`.
    """

    def __init__(self,
                 architecture: Union[Dict, BaseModel],
                 quantizer: Dict,
                 teacher: Union[Dict, BaseModel],
                 distiller: Dict,
                 teacher_ckpt: Optional[str] = None,
                 float_checkpoint: Optional[str] = None,
                 input_shapes: Tuple = (1, 1, 3, 16, 224, 224),
                 data_preprocessor: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None,
                 **kwargs) -> None:
        super().__init__(
            architecture,
            quantizer,
            data_preprocessor=data_preprocessor,
            float_checkpoint=float_checkpoint,
            input_shapes=input_shapes,
            init_cfg=init_cfg,
            **kwargs)
        self.teacher = build_teacher(teacher,
                                     self.architecture.cls_head.num_classes)
        if teacher_ckpt:
            load_checkpoint_strict(self.teacher, teacher_ckpt,
                                   'teacher checkpoint')
            self.teacher._is_init = True
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.teacher_inputs = TeacherInputs(self.data_preprocessor,
                                            self.teacher.data_preprocessor)
        self.distiller = MODELS.build(distiller)
        self.distiller.prepare_from_teacher(self.teacher)
        self.distiller.prepare_from_student(self.qmodels['loss'])

    def _build_qmodels(self, model: BaseModel) -> nn.ModuleDict:
        """Build the quantized graphs; re-hook the student recorders when
        they are rebuilt (``MMArchitectureQuantDDP`` does so)."""
        qmodels = super()._build_qmodels(model)
        if hasattr(self, 'distiller'):
            self.distiller.prepare_from_student(qmodels['loss'])
        return qmodels

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        """``'loss'`` distills; the other modes are the quantized student's."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[BaseDataElement]) -> Dict[str, torch.Tensor]:
        """The student's losses (``student.*``) and the distillation losses
        (``distill.*``) of a batch.

        Args:
            inputs (torch.Tensor): The preprocessed clips.
            data_samples (list[BaseDataElement]): Samples with labels.

        Returns:
            dict[str, torch.Tensor]: The loss components.
        """
        with self.distiller.teacher_recorders, torch.no_grad():
            self.teacher(
                self.teacher_inputs(inputs), data_samples, mode='loss')
        with self.distiller.student_recorders:
            student_losses = self.qmodels['loss'](inputs, data_samples, 'loss')
        losses = add_prefix(student_losses, 'student')
        losses.update(
            add_prefix(self.distiller.compute_distill_losses(), 'distill'))
        return losses

    def train(self, mode: bool = True) -> 'QuantDistill':
        """Set the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self
