from typing import Dict, Optional, Union

import torch.nn as nn
from mmengine.model import BaseModel

from mmrazor.models.algorithms import MMArchitectureQuant
from mmrazor.registry import MODELS
from ..heads import TraceableHeadMixin
from ...quantization.adapters import (traceable_recognizer,
                                      with_head_skipped_methods)
from ...quantization.fusion import video_backend_config
from ...utils.checkpoint import load_checkpoint_strict


@MODELS.register_module()
class StrictMMArchitectureQuant(MMArchitectureQuant):
    """:class:`MMArchitectureQuant` for MMAction2 recognizers, whose
    ``float_checkpoint`` must fit.

    Any ``Recognizer3D``/``Recognizer2D`` config with a head of
    :data:`~qd_plugin.quantization.adapters.TRACEABLE_HEADS` can be given as
    ``architecture`` (e.g. ``_base_.model`` of an MMAction2 config): it is
    built as its traceable twin and its untraceable layers are swapped
    (:func:`~qd_plugin.quantization.adapters.traceable_recognizer`), the
    tracer skips the heads' data-sample methods, and the quantizer's backend
    config gets the patterns video recognizers need
    (:func:`~qd_plugin.quantization.fusion.video_backend_config`).

    MMRazor loads the float checkpoint non-strictly: one of another
    architecture only logs a warning, and quantization-aware training starts
    from random weights. Here it is loaded into the float architecture
    before the quantized graphs are built, and a missing file, missing or
    unexpected keys or other shapes raise (see
    :func:`qd_plugin.utils.checkpoint.load_checkpoint_strict`).

    Args:
        architecture (dict | BaseModel): The float recognizer.
        quantizer (dict): MMRazor quantizer config.
        float_checkpoint (str, optional): Float weights to start from.
            Defaults to None.
        **kwargs: Other arguments of :class:`MMArchitectureQuant`.
    """

    def __init__(self,
                 architecture: Union[Dict, BaseModel],
                 quantizer: Dict,
                 float_checkpoint: Optional[str] = None,
                 **kwargs) -> None:
        architecture = traceable_recognizer(architecture)
        if float_checkpoint:
            load_checkpoint_strict(architecture, float_checkpoint,
                                   'float checkpoint')
            architecture._is_init = True
        super().__init__(
            architecture,
            with_head_skipped_methods(quantizer),
            float_checkpoint=None,
            **kwargs)

    def _build_qmodels(self, model: BaseModel) -> nn.ModuleDict:
        """Build the quantized graphs with the video patterns added to the
        quantizer's backend config (once; ``convert_to_int8`` uses it
        too)."""
        backend_config = self.quantizer.backend_config
        if not hasattr(backend_config, 'video_patterns'):
            self.quantizer.backend_config = video_backend_config(
                backend_config)
        self._leave_logits_unobserved(model)
        return super()._build_qmodels(model)

    def _leave_logits_unobserved(self, model: BaseModel) -> None:
        """No observer after a head's ``logits`` Identity (the distiller's
        recording point): the fc's output observer already quantizes the
        logits, and the graph keeps the observers of QAT checkpoints
        trained before the heads had it."""
        mapping = getattr(self.quantizer, 'qconfig_mapping', None)
        if mapping is None:
            return
        for name, module in model.named_modules():
            if isinstance(module, TraceableHeadMixin):
                mapping.set_module_name(f'{name}.logits', None)
