"""Deployment of recognizers: MMDeploy ONNX export of float models, QDQ int8
export of QAT models, OpenVINO conversion, parity checks and runtimes (needs
the ``deploy`` extra)."""
from .export import DeployResult, deploy
from .export_strategy import ExportStrategy
from .float_export import FloatExport, export_onnx
from .graph_cleanup import cleanup_graph
from .openvino_ir import convert_to_openvino
from .parity import (Parity, ParityError, check_agreement, check_parity,
                     compare, near_tie_flips)
from .qat_export import QATExport
from .qdq import export_qdq_onnx
from .runtimes import (OnnxRuntime, OpenVINORuntime, Runtime,
                       TorchInt8Runtime, TorchRuntime, predict_scores)
from .sdk_files import write_sdk_files

__all__ = [
    'DeployResult', 'ExportStrategy', 'FloatExport', 'OnnxRuntime',
    'OpenVINORuntime', 'Parity', 'ParityError', 'QATExport', 'Runtime',
    'TorchInt8Runtime', 'TorchRuntime', 'check_agreement', 'check_parity',
    'cleanup_graph', 'compare', 'convert_to_openvino', 'deploy',
    'export_onnx', 'export_qdq_onnx', 'near_tie_flips', 'predict_scores',
    'write_sdk_files'
]
