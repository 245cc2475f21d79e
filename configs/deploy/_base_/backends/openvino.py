# The IR is converted from the exported ONNX with openvino.convert_model and
# saved with float32 weights (tools/deploy.py).
backend_config = dict(type='openvino')
