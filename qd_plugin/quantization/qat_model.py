"""The quantization-aware trained (QAT) model of a config."""
import copy
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.config import Config


def is_qat_config(model_cfg: Config) -> bool:
    """Whether the config's model is an MMRazor quantization algorithm
    (``MMArchitectureQuant`` or a subclass, e.g. ``QuantDistill``)."""
    model_type = model_cfg.model.get('type')
    if isinstance(model_type, type):
        model_class = model_type
    else:
        import mmrazor.models  # noqa: F401  (registers the algorithms)
        from mmrazor.registry import MODELS

        import qd_plugin.models  # noqa: F401  (QuantDistill & co.)
        model_class = MODELS.get(str(model_type))
    if not isinstance(model_class, type):
        return False
    from mmrazor.models.algorithms import MMArchitectureQuant
    return issubclass(model_class, MMArchitectureQuant)


def build_qat_model(model_cfg: Config,
                    checkpoint: Optional[str],
                    input_shape: Optional[Sequence[int]] = None
                    ) -> nn.Module:
    """The QAT model of ``model_cfg`` with the weights and quantization
    parameters of ``checkpoint``; eval mode, observers off.

    ``model.float_checkpoint`` (and a distiller's ``teacher_ckpt``) are
    ignored: the QAT checkpoint holds everything.

    Args:
        model_cfg (Config): A QAT config (``configs/qat_mbv3d*.py``,
            ``configs/kd_qat_mbv3d.py``).
        checkpoint (str, optional): Its QAT checkpoint; None keeps the
            initialisation.
        input_shape (Sequence[int], optional): The shape the model is traced
            with when built. Defaults to the config's ``input_shapes``.

    Returns:
        nn.Module: The ``MMArchitectureQuant`` on CPU.
    """
    import mmrazor.engine  # noqa: F401  (registers the QAT loops)
    import mmrazor.models  # noqa: F401  (registers the algorithm)

    from ..compat import apply_patches
    apply_patches(['mmrazor'])  # e.g. symbolics registered by that import
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    from torch.ao.quantization import disable_observer, enable_fake_quant

    import qd_plugin.models  # noqa: F401  (traceable recognizer and head)
    from ..utils.checkpoint import load_checkpoint_strict
    init_default_scope(model_cfg.get('default_scope', 'mmaction'))
    cfg = copy.deepcopy(model_cfg.model)
    # Everything (student, quantization parameters, a distillation teacher)
    # is in the QAT checkpoint: the initial checkpoints are not needed.
    cfg.float_checkpoint = None
    if 'teacher_ckpt' in cfg:
        cfg.teacher_ckpt = None
    if input_shape is not None:
        cfg.input_shapes = tuple(input_shape)
    model = MODELS.build(cfg)
    if checkpoint is not None:
        load_checkpoint_strict(model, checkpoint, 'QAT checkpoint')
    model = model.cpu().eval()
    model.apply(disable_observer)
    model.apply(enable_fake_quant)
    return model
