from typing import Dict, Optional

from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS

#: The class scores of a traceable head (the student's, recorded in the
#: fake-quantized graph, where the head is no module call).
STUDENT_LOGITS = dict(type='ModuleOutputs', source='cls_head.logits')
#: The class scores of any MMAction2 head: the output of its forward.
TEACHER_LOGITS = dict(type='ModuleOutputs', source='cls_head')


@MODELS.register_module()
class RecognizerLogitsDistiller(ConfigurableDistiller):
    """:class:`ConfigurableDistiller` of recognizer logits for any
    MMAction2 head, with the recorders found from the head.

    The recorders are not fixed layer names (``cls_head.fc_cls`` is the last
    layer of I3DHead, not of X3DHead, and TSMHead averages its segments'
    scores after it): the student's ``logits`` are the output of its
    traceable head's ``logits`` module (see
    :class:`~qd_plugin.models.heads.TraceableHeadMixin`), the teacher's the
    output of its head's ``forward``; both are the class scores the heads'
    own losses see. ``distill_losses`` get them as ``preds_S`` and
    ``preds_T``.

    Used by :class:`~qd_plugin.models.algorithms.QuantDistill`, whose
    student is always built with a traceable head::

        distiller=dict(
            type='RecognizerLogitsDistiller',
            distill_losses=dict(
                loss_kl=dict(type='KLDivergence', tau=3, loss_weight=0.9)))

    Args:
        distill_losses (dict): Losses of ``preds_S`` and ``preds_T``, by
            name.
        student_recorders (dict, optional): Defaults to ``logits`` as
            above. Defaults to None.
        teacher_recorders (dict, optional): Defaults to ``logits`` as
            above. Defaults to None.
        loss_forward_mappings (dict, optional): Defaults to every loss on
            the two ``logits``. Defaults to None.
        **kwargs: Other arguments of :class:`ConfigurableDistiller`.
    """

    def __init__(self,
                 distill_losses: Dict[str, Dict],
                 student_recorders: Optional[Dict[str, Dict]] = None,
                 teacher_recorders: Optional[Dict[str, Dict]] = None,
                 loss_forward_mappings: Optional[Dict[str, Dict]] = None,
                 **kwargs) -> None:
        if loss_forward_mappings is None:
            loss_forward_mappings = {
                name: dict(
                    preds_S=dict(from_student=True, recorder='logits'),
                    preds_T=dict(from_student=False, recorder='logits'))
                for name in distill_losses
            }
        super().__init__(
            student_recorders=student_recorders
            or dict(logits=dict(STUDENT_LOGITS)),
            teacher_recorders=teacher_recorders
            or dict(logits=dict(TEACHER_LOGITS)),
            distill_losses=distill_losses,
            loss_forward_mappings=loss_forward_mappings,
            **kwargs)
