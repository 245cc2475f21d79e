from typing import Dict, Optional, Union

from mmengine.model import BaseModel

from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.registry import MODELS
from ...utils.checkpoint import load_checkpoint_strict


@MODELS.register_module()
class StrictSingleTeacherDistill(SingleTeacherDistill):
    """:class:`SingleTeacherDistill` whose ``teacher_ckpt`` must fit.

    MMRazor loads the teacher checkpoint non-strictly: one of another
    architecture only logs a warning, and the student distills a random
    teacher. Here a missing or unreadable file, missing or unexpected keys
    or other shapes raise (see
    :func:`qd_plugin.utils.checkpoint.load_checkpoint_strict`).

    Args:
        distiller (dict): MMRazor distiller config.
        teacher (dict | BaseModel): The teacher.
        teacher_ckpt (str, optional): Teacher weights. Defaults to None.
        **kwargs: Other arguments of :class:`SingleTeacherDistill`.
    """

    def __init__(self,
                 distiller: Dict,
                 teacher: Union[BaseModel, Dict],
                 teacher_ckpt: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(distiller, teacher, teacher_ckpt=None, **kwargs)
        if teacher_ckpt:
            load_checkpoint_strict(self.teacher, teacher_ckpt,
                                   'teacher checkpoint')
            self.teacher._is_init = True
