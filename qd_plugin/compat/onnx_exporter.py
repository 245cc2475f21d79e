"""Which exporter ``torch.onnx.export`` uses when the caller does not say:
feature detection shared by the ONNX export patches."""
import inspect

import torch


def onnx_export_defaults_to_dynamo() -> bool:
    """True when ``torch.onnx.export()`` without ``dynamo=`` uses dynamo
    (torch >= 2.9), which needs onnxscript and bypasses the TorchScript-level
    symbolics and rewriters the OpenMMLab exporters register."""
    try:
        parameter = inspect.signature(torch.onnx.export).parameters['dynamo']
    except (KeyError, TypeError, ValueError):
        return False  # no dynamo exporter: TorchScript is the only one
    return parameter.default is True
