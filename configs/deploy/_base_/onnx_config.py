# ONNX export settings (MMDeploy's `onnx_config`). The TorchScript exporter is
# used (see qd_plugin/compat/mmdeploy.py); opset 11 as in MMDeploy's configs.
# `optimize` needs MMDeploy's compiled TorchScript extension, which the
# pure-Python wheel lacks: ONNX Runtime and OpenVINO optimize the graph anyway.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None,
    optimize=False)
