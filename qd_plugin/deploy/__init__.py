"""Deployment of recognizers: MMDeploy ONNX export, OpenVINO conversion,
QDQ int8 export of QAT models, parity checks and runtimes (needs the
``deploy`` extra)."""
from .export import (DeployResult, convert_to_openvino, deploy, export_onnx,
                     write_sdk_files)
from .graph_cleanup import cleanup_graph
from .parity import (Parity, ParityError, check_agreement, check_parity,
                     compare, near_tie_flips)
from .qat import TorchInt8Runtime, build_qat_model, is_qat_config
from .qdq import export_qdq_onnx
from .runtimes import (OnnxRuntime, OpenVINORuntime, Runtime, TorchRuntime,
                       predict_scores)

__all__ = [
    'DeployResult', 'OnnxRuntime', 'OpenVINORuntime', 'Parity', 'ParityError',
    'Runtime', 'TorchInt8Runtime', 'TorchRuntime', 'build_qat_model',
    'check_agreement', 'check_parity', 'cleanup_graph', 'compare',
    'convert_to_openvino', 'deploy', 'export_onnx', 'export_qdq_onnx',
    'is_qat_config', 'near_tie_flips', 'predict_scores', 'write_sdk_files'
]
