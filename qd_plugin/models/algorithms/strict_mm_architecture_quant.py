from typing import Dict, Optional, Union

from mmengine.model import BaseModel

from mmrazor.models.algorithms import MMArchitectureQuant
from mmrazor.registry import MODELS
from ...utils.checkpoint import load_checkpoint_strict


@MODELS.register_module()
class StrictMMArchitectureQuant(MMArchitectureQuant):
    """:class:`MMArchitectureQuant` whose ``float_checkpoint`` must fit.

    MMRazor loads the float checkpoint non-strictly: one of another
    architecture only logs a warning, and quantization-aware training starts
    from random weights. Here it is loaded into the float architecture
    before the quantized graphs are built, and a missing file, missing or
    unexpected keys or other shapes raise (see
    :func:`qd_plugin.utils.checkpoint.load_checkpoint_strict`).

    Args:
        architecture (dict | BaseModel): The float model.
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
        if float_checkpoint:
            if isinstance(architecture, dict):
                architecture = MODELS.build(architecture)
            load_checkpoint_strict(architecture, float_checkpoint,
                                   'float checkpoint')
            architecture._is_init = True
        super().__init__(
            architecture, quantizer, float_checkpoint=None, **kwargs)
