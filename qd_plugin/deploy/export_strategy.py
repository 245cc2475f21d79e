"""What differs between deploying a float and a QAT recognizer: the steps
:func:`.export.deploy` delegates to an :class:`ExportStrategy`."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config

from .parity import Parity
from .runtimes import Runtime


class ExportStrategy:
    """Builds the PyTorch model, exports it to ONNX, checks the runtimes
    against it and writes the SDK files; subclasses implement each step."""

    #: How the export is named in logs.
    name = 'model'

    def build_model(self, deploy_cfg: Config, model_cfg: Config,
                    checkpoint: Optional[str], device: str) -> nn.Module:
        """The PyTorch model to export, on CPU, eval mode."""
        raise NotImplementedError

    def export(self, deploy_cfg: Config, model: nn.Module,
               example_inputs: torch.Tensor, work_dir: str) -> str:
        """Write the ONNX model into ``work_dir``; returns its path."""
        raise NotImplementedError

    def check(self, model: nn.Module, runtimes: Sequence[Runtime],
              inputs: torch.Tensor) -> List[Parity]:
        """Compare each runtime with the PyTorch ``model`` on ``inputs``.

        Raises:
            ParityError: a runtime is off beyond the strategy's tolerance.
        """
        raise NotImplementedError

    def write_sdk_files(self, deploy_cfg: Config, model_cfg: Config,
                        work_dir: str, checkpoint: Optional[str],
                        device: str) -> List[str]:
        """The MMDeploy SDK meta files; returns their paths."""
        raise NotImplementedError
