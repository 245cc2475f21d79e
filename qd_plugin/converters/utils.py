from typing import Dict

import torch


def unwrap_state_dict(checkpoint: Dict) -> Dict[str, torch.Tensor]:
    """The state dict of a released checkpoint, without wrappers.

    Accepts ``{'state_dict': ...}`` or a plain state dict, and strips the
    ``module.`` prefix that ``DataParallel`` adds.

    Args:
        checkpoint (dict): The loaded checkpoint file.

    Returns:
        dict[str, torch.Tensor]: Keys without the ``module.`` prefix.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    return {
        key[len('module.'):] if key.startswith('module.') else key: value
        for key, value in state_dict.items()
    }
